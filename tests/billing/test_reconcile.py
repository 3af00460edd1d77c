"""The daily reconciliation: what we sent per tenant, meter and day against what Stripe counted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing import stripe_api
from billing.models import Reconciliation, UsageKind, UsageRecord
from billing.services.meter_push import usage_push_due
from billing.services.reconcile import usage_reconcile
from billing.tasks import reconcile_usage
from tests.factories import subscribe

pytestmark = pytest.mark.django_db

PREDICTIONS = "tunebase_predictions"


def record(tenant, kind: str, quantity: int, at: datetime) -> None:
    usage = UsageRecord.all_tenants.create(tenant=tenant, kind=kind, quantity=quantity)
    UsageRecord.all_tenants.filter(pk=usage.pk).update(created_at=at)


def rows(tenant) -> dict[str, tuple[int, int | None, int]]:
    return {r.kind: (r.ours, r.stripes, r.drift) for r in Reconciliation.objects.for_tenant(tenant)}


@pytest.fixture
def yesterday() -> datetime:
    return timezone.now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture
def sent(tenant, other_tenant, fake_stripe, yesterday):
    """Two tenants' usage of yesterday (and of the day before), all sent to Stripe."""
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    subscribe(other_tenant, stripe=fake_stripe, customer="cus_globex")
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    record(tenant, UsageKind.PREDICTION, 4, yesterday + timedelta(hours=3))
    record(tenant, UsageKind.TRAINING_SECONDS, 120, yesterday)
    record(tenant, UsageKind.PREDICTION, 50, yesterday - timedelta(days=1))
    record(other_tenant, UsageKind.PREDICTION, 9, yesterday)
    assert usage_push_due()["sent"] == 4


def test_everything_sent_shows_no_drift(sent, tenant, other_tenant):
    assert usage_reconcile() == {"checked": 4, "drifted": 0, "unknown": 0}

    assert rows(tenant) == {"prediction": (7, 7, 0), "training_seconds": (120, 120, 0)}
    assert rows(other_tenant) == {"prediction": (9, 9, 0), "training_seconds": (0, 0, 0)}


def test_a_day_is_given_as_an_iso_date(sent, tenant, yesterday):
    day = (yesterday - timedelta(days=1)).date()

    assert usage_reconcile(day=day.isoformat())["drifted"] == 0

    assert {r.day for r in Reconciliation.objects.for_tenant(tenant)} == {day}
    assert rows(tenant)["prediction"] == (50, 50, 0)


def test_an_extra_event_at_stripe_is_drift(sent, tenant, fake_stripe, yesterday, caplog):
    fake_stripe.meter_events["made-elsewhere"] = {
        "event_name": PREDICTIONS,
        "identifier": "made-elsewhere",
        "payload": {"stripe_customer_id": "cus_acme", "value": "5"},
        "timestamp": int(yesterday.timestamp()) + 60,
    }

    with caplog.at_level(logging.WARNING, logger="billing.services.reconcile"):
        assert usage_reconcile() == {"checked": 4, "drifted": 1, "unknown": 0}

    assert rows(tenant)["prediction"] == (7, 12, 5)
    assert "drift" in caplog.text and "prediction" in caplog.text


def test_an_event_missing_at_stripe_is_drift(sent, other_tenant, fake_stripe):
    (lost,) = [k for k, e in fake_stripe.meter_events.items() if e["payload"]["stripe_customer_id"] == "cus_globex"]
    del fake_stripe.meter_events[lost]

    assert usage_reconcile()["drifted"] == 1

    assert rows(other_tenant)["prediction"] == (9, 0, -9)


def test_a_push_not_yet_sent_is_not_counted_as_ours(tenant, fake_stripe, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    fake_stripe.fail(500, 500, 500)
    usage_push_due()

    assert usage_reconcile()["drifted"] == 0

    assert rows(tenant)["prediction"] == (0, 0, 0)


def test_a_meter_stripe_cannot_answer_for_is_unknown_and_the_rest_go_on(sent, tenant, other_tenant, fake_stripe):
    fake_stripe.route(
        "GET",
        r"/v1/billing/meters/mtr_training/event_summaries",
        lambda fake, request, match: (500, {"error": {"type": "api_error", "message": "Fake failure 500."}}),
    )

    assert usage_reconcile() == {"checked": 4, "drifted": 0, "unknown": 2}

    assert rows(tenant) == {"prediction": (7, 7, 0), "training_seconds": (120, None, 0)}
    assert rows(other_tenant) == {"prediction": (9, 9, 0), "training_seconds": (0, None, 0)}


def test_when_stripe_is_down_every_row_is_unknown_and_a_later_run_fills_them(sent, tenant, fake_stripe):
    fake_stripe.fail(*["reset"] * (stripe_api.MAX_NETWORK_RETRIES + 1))  # every try of the first request
    assert usage_reconcile() == {"checked": 4, "drifted": 0, "unknown": 4}
    assert rows(tenant) == {"prediction": (7, None, 0), "training_seconds": (120, None, 0)}

    assert usage_reconcile() == {"checked": 4, "drifted": 0, "unknown": 0}

    assert rows(tenant) == {"prediction": (7, 7, 0), "training_seconds": (120, 120, 0)}
    assert Reconciliation.objects.for_tenant(tenant).count() == 2


def test_with_stripe_off_nothing_is_checked(sent, fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = ""
    asked = len(fake_stripe.requests)

    assert usage_reconcile() == {"checked": 0, "drifted": 0, "unknown": 0}

    assert len(fake_stripe.requests) == asked
    assert not Reconciliation.all_tenants.exists()


def test_the_daily_task_reconciles_a_given_day(sent, tenant, yesterday):
    assert reconcile_usage(yesterday.date().isoformat())["checked"] == 4

    assert rows(tenant)["training_seconds"] == (120, 120, 0)
