"""Billing in the operators' admin: every ledger visible and read-only, plan and credit changed only through
audited actions with a form, failing usage pushes sent again, and counters that agree with the records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import (
    MeterPush,
    Plan,
    QuotaCounter,
    Reconciliation,
    StripeEvent,
    Subscription,
    ThresholdNotice,
    UsageRecord,
)
from tenants.models import AuditEvent

LEDGERS = [
    "subscription",
    "usagerecord",
    "quotacounter",
    "meterpush",
    "reconciliation",
    "stripeevent",
    "thresholdnotice",
]


@pytest.fixture
def signed_in_operator(client: Any, operator: Any) -> Any:
    client.force_login(operator)
    return client


@pytest.fixture
def subscriptions(tenant: Any, other_tenant: Any) -> dict[str, Subscription]:
    return {
        "acme": services.subscription_start(tenant=tenant),
        "globex": services.subscription_start(tenant=other_tenant),
    }


def _push(tenant: Any, **fields: Any) -> MeterPush:
    values: dict[str, Any] = {
        "kind": "prediction",
        "day": date(2025, 1, 2),
        "timestamp": timezone.now(),
        "quantity": 40,
        "stripe_customer_id": "cus_acme",
    }
    return MeterPush.all_tenants.create(tenant=tenant, **(values | fields))


@pytest.fixture
def one_of_each(tenant: Any, subscriptions: dict[str, Subscription]) -> dict[str, Any]:
    """One row of every billing ledger, for the pages to show."""
    record = services.usage_record(tenant_id=tenant.pk, kind="prediction", quantity=7, source="api")
    push = _push(tenant, attempts=1, last_error="APIConnectionError: reset", next_attempt_at=timezone.now())
    UsageRecord.all_tenants.filter(pk=record.pk).update(push=push)
    return {
        "subscription": subscriptions["acme"],
        "usagerecord": record,
        "quotacounter": QuotaCounter.all_tenants.get(tenant=tenant),
        "meterpush": push,
        "reconciliation": Reconciliation.all_tenants.create(
            tenant=tenant, kind="prediction", day=date(2025, 1, 2), ours=40, stripes=38, drift=-2
        ),
        "stripeevent": StripeEvent.objects.create(
            id="evt_1",
            type="invoice.paid",
            created=timezone.now(),
            payload={"id": "evt_1", "type": "invoice.paid", "data": {"object": {"customer": "cus_acme"}}},
            tenant=tenant,
        ),
        "thresholdnotice": ThresholdNotice.all_tenants.create(
            tenant=tenant, meter="prediction", level=80, period_start=timezone.now(), used=800, limit=1000
        ),
    }


def _post_action(client: Any, model: str, action: str, selected: list[Any], **fields: Any) -> Any:
    data = {"action": action, "_selected_action": [str(pk) for pk in selected], **fields}
    return client.post(reverse(f"admin:billing_{model}_changelist"), data, follow=True)


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- who may enter, what renders ----------------------------------------------------------------------


@pytest.mark.parametrize("model", [*LEDGERS, "plan"])
def test_customers_and_visitors_are_sent_to_the_admin_login(client, owner, model):
    url = reverse(f"admin:billing_{model}_changelist")

    anonymous = client.get(url)
    client.force_login(owner.user)
    customer = client.get(url)

    for response in (anonymous, customer):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", LEDGERS)
def test_operator_sees_every_ledger_and_each_row(signed_in_operator, one_of_each, model):
    row = one_of_each[model]

    listing = signed_in_operator.get(reverse(f"admin:billing_{model}_changelist"))
    page = signed_in_operator.get(reverse(f"admin:billing_{model}_change", args=[row.pk]))

    assert listing.status_code == 200
    assert row in listing.context["cl"].result_list
    assert page.status_code == 200


@pytest.mark.parametrize(
    "model, query, found",
    [
        ("subscription", {"q": "globex"}, 1),
        ("subscription", {"q": "cus_acme"}, 0),
        ("subscription", {"status__exact": "past_due"}, 0),
        ("usagerecord", {"sent_at__isempty": "1", "kind__exact": "prediction", "source__exact": "api"}, 1),
        ("usagerecord", {"sent_at__isempty": "0"}, 0),
        ("quotacounter", {"kind__exact": "training_seconds"}, 0),
        ("meterpush", {"failing": "yes", "sent_at__isempty": "1"}, 1),
        ("reconciliation", {"drift": "no"}, 0),
        ("stripeevent", {"processed_at__isempty": "1", "type__exact": "invoice.paid"}, 1),
        ("thresholdnotice", {"level__exact": "100"}, 0),
    ],
)
def test_operator_filters_and_searches_the_ledgers(signed_in_operator, one_of_each, model, query, found):
    response = signed_in_operator.get(reverse(f"admin:billing_{model}_changelist"), query)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == found


@pytest.mark.parametrize("model", LEDGERS)
def test_ledgers_cannot_be_edited_added_or_deleted(signed_in_operator, one_of_each, model):
    row = one_of_each[model]

    add = signed_in_operator.get(reverse(f"admin:billing_{model}_add"))
    delete = signed_in_operator.get(reverse(f"admin:billing_{model}_delete", args=[row.pk]))
    page = signed_in_operator.get(reverse(f"admin:billing_{model}_change", args=[row.pk])).content.decode()
    listing = signed_in_operator.get(reverse(f"admin:billing_{model}_changelist"))

    assert add.status_code == 403
    assert delete.status_code == 403
    assert 'name="_save"' not in page
    assert listing.status_code == 200
    assert 'value="delete_selected"' not in listing.content.decode()


def test_plans_stay_editable(signed_in_operator):
    pro = Plan.objects.get(code="pro")

    response = signed_in_operator.post(
        reverse("admin:billing_plan_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(pro.pk),
            "form-0-monthly_price_cents": "5900",
            "form-0-included_predictions": str(pro.included_predictions),
            "form-0-included_training_minutes": str(pro.included_training_minutes),
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert Plan.objects.get(code="pro").monthly_price_cents == 5900


# --- subscriptions: usage, plan and credit -------------------------------------------------------------


def test_subscription_page_shows_this_periods_usage_and_estimated_bill(signed_in_operator, tenant, subscriptions):
    Subscription.all_tenants.filter(tenant=tenant).update(plan=Plan.objects.get(code="pro"), credit_cents=500)
    pro = Plan.objects.get(code="pro")
    over = 2_000
    services.usage_record(
        tenant_id=tenant.pk, kind="prediction", quantity=pro.included_predictions + over, source="api"
    )
    overage = round(over * pro.prediction_overage_cents_per_1000 / 1000)
    estimate = pro.monthly_price_cents + overage - 500

    page = signed_in_operator.get(reverse("admin:billing_subscription_change", args=[subscriptions["acme"].pk]))

    text = page.content.decode()
    assert "Usage this period" in text
    assert f"{pro.included_predictions + over:,} texts" in text
    assert f"<td>{over:,}</td>" in text
    assert f"${estimate / 100:,.2f}" in text


def test_operator_changes_plans_through_the_form_and_it_is_audited(
    signed_in_operator, operator, tenant, other_tenant, subscriptions
):
    chosen = [subscriptions["acme"].pk, subscriptions["globex"].pk]
    scale = Plan.objects.get(code="scale")

    form = _post_action(signed_in_operator, "subscription", "change_plan", chosen)
    done = _post_action(
        signed_in_operator, "subscription", "change_plan", chosen, apply="yes", plan=scale.pk, reason="Enterprise trial"
    )

    assert 'name="plan"' in form.content.decode()
    assert Subscription.objects.for_tenant(tenant).get().plan == scale  # unchanged until the form is sent
    assert {s.plan.code for s in Subscription.all_tenants.filter(pk__in=chosen)} == {"scale"}
    assert _messages(done) == ["Change plan: done for 2 subscription(s)."]
    for each in (tenant, other_tenant):
        event = AuditEvent.objects.for_tenant(each).get(action="billing.plan_changed")
        assert event.actor == operator
        assert event.details["to_plan"] == "scale"
        assert event.details["reason"] == "Enterprise trial"


def test_the_plan_form_without_a_reason_is_shown_again_and_nothing_changes(signed_in_operator, tenant, subscriptions):
    scale = Plan.objects.get(code="scale")

    response = _post_action(
        signed_in_operator, "subscription", "change_plan", [subscriptions["acme"].pk], apply="yes", plan=scale.pk
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert Subscription.objects.for_tenant(tenant).get().plan.code == "free"
    assert not AuditEvent.objects.for_tenant(tenant).filter(action="billing.plan_changed").exists()


def test_operator_grants_credit_in_dollars_and_it_is_audited(signed_in_operator, operator, tenant, subscriptions):
    form = _post_action(signed_in_operator, "subscription", "grant_credit", [subscriptions["acme"].pk])
    done = _post_action(
        signed_in_operator,
        "subscription",
        "grant_credit",
        [subscriptions["acme"].pk],
        apply="yes",
        amount="12.50",
        reason="Outage on 2 May",
    )

    assert 'name="amount"' in form.content.decode()
    assert Subscription.objects.for_tenant(tenant).get().credit_cents == 1250
    assert _messages(done) == ["Grant credit: done for 1 subscription(s)."]
    event = AuditEvent.objects.for_tenant(tenant).get(action="billing.credit_granted")
    assert (event.actor, event.details["amount_cents"], event.details["reason"]) == (operator, 1250, "Outage on 2 May")
    listing = signed_in_operator.get(reverse("admin:billing_subscription_changelist")).content.decode()
    assert "$12.50" in listing


@pytest.mark.parametrize("amount", ["-5", "0", "abc"])
def test_a_bad_credit_amount_shows_the_form_again_and_grants_nothing(signed_in_operator, tenant, subscriptions, amount):
    response = _post_action(
        signed_in_operator,
        "subscription",
        "grant_credit",
        [subscriptions["acme"].pk],
        apply="yes",
        amount=amount,
        reason="Goodwill",
    )

    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert 'name="amount"' in response.content.decode()
    assert Subscription.objects.for_tenant(tenant).get().credit_cents == 0
    assert not AuditEvent.objects.for_tenant(tenant).filter(action="billing.credit_granted").exists()


def test_credit_refused_by_stripe_shows_the_form_again_with_why(signed_in_operator, tenant, subscriptions, fake_stripe):
    Subscription.all_tenants.filter(tenant=tenant).update(stripe_customer_id="cus_acme")
    fake_stripe.fail(400)

    response = _post_action(
        signed_in_operator,
        "subscription",
        "grant_credit",
        [subscriptions["acme"].pk],
        apply="yes",
        amount="10",
        reason="Goodwill",
    )

    assert response.status_code == 200
    assert "Stripe could not be reached" in " ".join(response.context["form"].non_field_errors())
    assert Subscription.objects.for_tenant(tenant).get().credit_cents == 0
    assert not AuditEvent.objects.for_tenant(tenant).filter(action="billing.credit_granted").exists()


# --- usage: counters against records, pushes sent again ------------------------------------------------


def test_usage_per_tenant_and_period_equals_the_sum_of_its_records(
    signed_in_operator, tenant, other_tenant, subscriptions
):
    for tenant_, kind, quantity in [
        (tenant, "prediction", 3),
        (tenant, "prediction", 5),
        (tenant, "training_seconds", 120),
        (other_tenant, "prediction", 11),
    ]:
        services.usage_record(tenant_id=tenant_.pk, kind=kind, quantity=quantity, source="api")

    response = signed_in_operator.get(reverse("admin:billing_quotacounter_changelist"))

    counters = {(c.tenant_id, c.kind): c for c in response.context["cl"].result_list}
    assert {key: c.used for key, c in counters.items()} == {
        (tenant.pk, "prediction"): 8,
        (tenant.pk, "training_seconds"): 120,
        (other_tenant.pk, "prediction"): 11,
    }
    for (tenant_id, kind), counter in counters.items():
        records = UsageRecord.objects.for_tenant(tenant_id).filter(kind=kind)
        assert counter.used == sum(r.quantity for r in records)
        assert counter.records_total == counter.used
    assert "differs" not in response.content.decode()


def test_a_counter_that_disagrees_with_its_records_is_flagged(signed_in_operator, tenant, subscriptions):
    services.usage_record(tenant_id=tenant.pk, kind="prediction", quantity=9, source="api")
    QuotaCounter.all_tenants.filter(tenant=tenant).update(used=12)

    page = signed_in_operator.get(reverse("admin:billing_quotacounter_changelist")).content.decode()

    assert "9 (differs by -3)" in page


def test_send_again_makes_failing_pushes_due_now_skips_sent_ones_and_is_audited(
    signed_in_operator, operator, tenant, other_tenant, subscriptions
):
    later = timezone.now() + timedelta(hours=3)
    failing = _push(tenant, attempts=3, last_error="RateLimitError: slow down", next_attempt_at=later)
    theirs = _push(other_tenant, attempts=1, last_error="APIError: 500", next_attempt_at=later)
    sent_at = timezone.now() - timedelta(hours=1)
    sent = _push(tenant, sent_at=sent_at, attempts=1)

    response = _post_action(signed_in_operator, "meterpush", "send_again", [failing.pk, theirs.pk, sent.pk])

    assert MeterPush.all_tenants.get(pk=failing.pk).next_attempt_at is None
    assert MeterPush.all_tenants.get(pk=theirs.pk).next_attempt_at is None
    assert MeterPush.all_tenants.get(pk=sent.pk).sent_at == sent_at
    assert _messages(response) == ["2 push(es) will be sent again within a minute. 1 already sent, skipped."]
    ours = AuditEvent.objects.for_tenant(tenant).get(action="billing.usage_resent")
    assert (ours.actor, ours.details["pushes"]) == (operator, [str(failing.pk)])
    assert AuditEvent.objects.for_tenant(other_tenant).filter(action="billing.usage_resent").count() == 1


def test_the_failing_filter_lists_only_unsent_pushes_after_an_error(signed_in_operator, tenant, subscriptions):
    failing = _push(tenant, attempts=2, last_error="APIError: 500", next_attempt_at=timezone.now())
    _push(tenant)  # waiting for its first send
    _push(tenant, attempts=1, sent_at=timezone.now())  # failed once, then sent

    response = signed_in_operator.get(reverse("admin:billing_meterpush_changelist"), {"failing": "yes"})

    assert list(response.context["cl"].result_list) == [failing]
    assert "Usage sent to Stripe" in response.content.decode()


def test_the_drift_filter_lists_days_that_differ_or_are_unknown(signed_in_operator, tenant, subscriptions):
    def day(n: int, **fields: Any) -> Reconciliation:
        return Reconciliation.all_tenants.create(tenant=tenant, kind="prediction", day=date(2025, 1, n), **fields)

    day(1, ours=10, stripes=10, drift=0)
    drifting = day(2, ours=10, stripes=7, drift=-3)
    unknown = day(3, ours=10, stripes=None, drift=0)

    response = signed_in_operator.get(reverse("admin:billing_reconciliation_changelist"), {"drift": "yes"})

    assert set(response.context["cl"].result_list) == {drifting, unknown}


def test_process_again_queues_only_unprocessed_stripe_events(
    signed_in_operator, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    from billing import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks.process_stripe_event, "delay", queued.append)

    def event(event_id: str, **fields: Any) -> StripeEvent:
        return StripeEvent.objects.create(
            id=event_id, type="invoice.paid", created=timezone.now(), payload={"id": event_id}, **fields
        )

    failed = event("evt_failed", attempts=5, error="KeyError: 'data'")
    done = event("evt_done", attempts=1, processed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_action(signed_in_operator, "stripeevent", "process_again", [failed.pk, done.pk])

    assert queued == ["evt_failed"]
    assert _messages(response) == ["1 event(s) queued to be processed again. 1 already processed, skipped."]
