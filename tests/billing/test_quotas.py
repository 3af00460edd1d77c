"""The arithmetic of limits (included amounts, overage, the spend cap) and the project count a plan allows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing import quotas
from billing.models import Plan, QuotaCounter, Subscription
from billing.selectors import quota_remaining, usage_summary
from billing.services import spend_cap_set, usage_record
from tests.factories import ProjectFactory, subscribe


def plan(**fields) -> Plan:
    base = dict(code="p", name="P", monthly_price_cents=1000, included_predictions=1000, included_training_minutes=10)
    return Plan(**{**base, **fields})


def test_a_plan_without_overage_stops_at_its_included_amount():
    free = plan(prediction_overage_cents_per_1000=None)

    assert quotas.limit_of(free, "prediction", {"prediction": 0, "training_seconds": 0}, None) == 1000
    assert quotas.limit_of(free, "training_seconds", {"prediction": 0, "training_seconds": 0}, None) == 600


def test_a_paid_plan_without_a_cap_has_no_limit_and_bills_overage():
    pro = plan(prediction_overage_cents_per_1000=50, training_overage_cents_per_minute=6)
    used = {"prediction": 3000, "training_seconds": 900}

    assert quotas.limit_of(pro, "prediction", used, None) is None
    assert quotas.overage_of(pro, "prediction", 3000) == 2000
    # $10 base + 2,000 predictions at $0.50 per 1,000 + 5 minutes at $0.06
    assert quotas.estimated_cents(pro, used) == 1000 + 100 + 30


def test_the_spend_cap_turns_the_budget_left_into_a_limit_per_meter():
    pro = plan(prediction_overage_cents_per_1000=50, training_overage_cents_per_minute=6)
    used = {"prediction": 0, "training_seconds": 600 + 300}  # 5 overage minutes: 30 cents

    # $12 cap - $10 base - 30 cents of training leaves 170 cents: 3,400 predictions past the 1,000 included
    assert quotas.limit_of(pro, "prediction", used, 1200) == 1000 + 3400
    # a cap at the base price leaves no overage at all
    assert quotas.limit_of(pro, "prediction", used, 1000) == 1000


def test_a_month_is_the_default_period_and_december_rolls_into_january():
    period = quotas.calendar_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))

    assert (period.start, period.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_the_free_plan_allows_three_projects_then_402(tenant, key_client):
    client = key_client(tenant)
    for i in range(3):
        ProjectFactory(tenant=tenant, name=f"P{i}")

    response = client.post("/api/v1/projects/", {"name": "Fourth", "use_case": "monitoring"}, format="json")

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert "Free plan allows 3 projects" in error["message"]
    assert error["quota"] == {"meter": "projects", "limit": 3, "used": 3}


def test_usage_counts_against_the_plan_and_shows_in_the_summary(tenant):
    Subscription.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, defaults={"plan": Plan.objects.get(code="free")}
    )
    usage_record(tenant_id=tenant.pk, kind="prediction", quantity=1500, source="api")
    usage_record(tenant_id=tenant.pk, kind="training_seconds", quantity=125, source="training")

    summary = usage_summary(tenant_id=tenant.pk)

    meters = {m.meter: (m.used, m.included, m.remaining) for m in summary.meters}
    assert meters == {"predictions": (1500, 2000, 500), "training": (125, 1800, 1675)}
    assert summary.estimated_cents == 0
    assert quota_remaining(tenant_id=tenant.pk, kind="prediction") == 500


def test_a_record_past_the_limit_is_refused_when_enforced_and_counted_when_not(tenant):
    free = Plan.objects.get(code="free")
    usage_record(tenant_id=tenant.pk, kind="prediction", quantity=2000, source="api", enforce=True)

    with pytest.raises(quotas.QuotaExceeded):
        usage_record(tenant_id=tenant.pk, kind="prediction", quantity=1, source="api", enforce=True)
    usage_record(tenant_id=tenant.pk, kind="prediction", quantity=5, source="batch")  # a job allowed at its start

    assert quota_remaining(tenant_id=tenant.pk, kind="prediction") == 0
    assert free.included_predictions == 2000


def test_a_paid_tenant_without_a_cap_keeps_no_counter_and_a_cap_counts_from_its_records(tenant, owner):
    pro = Plan.objects.get(code="pro")
    pro.monthly_price_cents, pro.included_predictions, pro.prediction_overage_cents_per_1000 = 0, 10, 10_000
    pro.save()  # 10 cents a text past 10 included
    subscribe(tenant, "pro")
    usage_record(tenant_id=tenant.pk, kind="prediction", quantity=15, source="api", enforce=True)
    assert not QuotaCounter.objects.for_tenant(tenant).exists()  # nothing to queue on while nothing limits

    spend_cap_set(tenant=tenant, cap_cents=100, actor=owner.user)  # 10 texts of overage: 20 in all

    usage_record(tenant_id=tenant.pk, kind="prediction", quantity=5, source="api", enforce=True)
    with pytest.raises(quotas.QuotaExceeded) as refused:
        usage_record(tenant_id=tenant.pk, kind="prediction", quantity=1, source="api", enforce=True)
    assert refused.value.code == "spend_cap_reached"
    assert QuotaCounter.objects.for_tenant(tenant).get(kind="prediction").used == 20
