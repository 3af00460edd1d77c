"""Usage reaches Stripe as meter events exactly once: grouped per tenant, meter and day, retried with the same
identifier after failures and crashes, never added to a push already made."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import stripe_api
from billing.models import MeterPush, Plan, Subscription, UsageKind, UsageRecord
from billing.services import meter_push
from billing.services.meter_push import SEND_LEASE, usage_push_due, usage_resend
from billing.tasks import push_usage
from tenants import db
from tests.factories import subscribe

pytestmark = pytest.mark.django_db

PREDICTIONS = "tunebase_predictions"
TRAINING = "tunebase_training_seconds"
EVENTS = "/v1/billing/meter_events"


def record(tenant, kind: str, quantity: int, at: datetime | None = None) -> UsageRecord:
    usage = UsageRecord.all_tenants.create(tenant=tenant, kind=kind, quantity=quantity)
    if at is not None:
        UsageRecord.all_tenants.filter(pk=usage.pk).update(created_at=at)
        usage.refresh_from_db()
    return usage


def unsent(tenant) -> list[UsageRecord]:
    return list(UsageRecord.objects.for_tenant(tenant).filter(sent_at__isnull=True))


@pytest.fixture
def yesterday() -> datetime:
    return timezone.now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture
def four_pushes(tenant, other_tenant, fake_stripe, yesterday):
    """Two tenants with customers, each with predictions and training seconds yesterday: four meter events."""
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    subscribe(other_tenant, stripe=fake_stripe, customer="cus_globex")
    for quantity, (who, kind) in enumerate(
        [(t, k) for t in (tenant, other_tenant) for k in (UsageKind.PREDICTION, UsageKind.TRAINING_SECONDS)], start=1
    ):
        record(who, kind, quantity, yesterday)
        record(who, kind, 10 * quantity, yesterday + timedelta(minutes=quantity))
    return {
        (PREDICTIONS, "cus_acme"): 11,
        (TRAINING, "cus_acme"): 22,
        (PREDICTIONS, "cus_globex"): 33,
        (TRAINING, "cus_globex"): 44,
    }


def stripe_totals(fake) -> dict[tuple[str, str], int]:
    return {
        (event, customer): fake.metered(event, customer)
        for event in (PREDICTIONS, TRAINING)
        for customer in ("cus_acme", "cus_globex")
    }


# --- what is sent --------------------------------------------------------------------------------------------


def test_usage_goes_as_one_meter_event_per_tenant_meter_and_day(tenant, other_tenant, fake_stripe, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    subscribe(other_tenant, stripe=fake_stripe, customer="cus_globex")
    before = yesterday - timedelta(days=1)
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    latest = record(tenant, UsageKind.PREDICTION, 4, yesterday + timedelta(hours=2))
    record(tenant, UsageKind.PREDICTION, 5, before)
    record(tenant, UsageKind.TRAINING_SECONDS, 60, yesterday)
    record(tenant, UsageKind.TRAINING_SECONDS, 30, before)
    record(other_tenant, UsageKind.PREDICTION, 7, yesterday)

    counts = usage_push_due()

    assert counts == {"settled": 0, "grouped": 5, "sent": 5, "failed": 0}
    calls = fake_stripe.calls("POST", EVENTS)
    sent = {
        (c.params["event_name"], c.params["payload[stripe_customer_id]"], int(c.params["timestamp"]) // 86400): int(
            c.params["payload[value]"]
        )
        for c in calls
    }
    day, day_before = int(yesterday.timestamp()) // 86400, int(before.timestamp()) // 86400
    assert sent == {
        (PREDICTIONS, "cus_acme", day): 7,
        (PREDICTIONS, "cus_acme", day_before): 5,
        (TRAINING, "cus_acme", day): 60,
        (TRAINING, "cus_acme", day_before): 30,
        (PREDICTIONS, "cus_globex", day): 7,
    }
    pushes = {push.identifier: push for push in MeterPush.all_tenants.all()}
    assert len(calls) == len(pushes) == 5
    for call in calls:
        push = pushes[call.params["identifier"]]
        assert call.params["identifier"] == f"tunebase-{push.pk}"
        assert call.idempotency_key == call.params["identifier"]
        assert call.params["timestamp"] == str(int(push.timestamp.timestamp()))
        assert push.sent_at is not None and push.attempts == 0
    latest.refresh_from_db()
    assert pushes[f"tunebase-{latest.push_id}"].timestamp == latest.created_at  # the group's latest record
    assert unsent(tenant) == unsent(other_tenant) == []
    assert stripe_totals(fake_stripe) == {
        (PREDICTIONS, "cus_acme"): 12,
        (TRAINING, "cus_acme"): 90,
        (PREDICTIONS, "cus_globex"): 7,
        (TRAINING, "cus_globex"): 0,
    }


def test_with_stripe_off_nothing_is_sent_and_records_stay_unsent(tenant, fake_stripe, settings, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    settings.STRIPE_SECRET_KEY = ""

    assert usage_push_due() == {"settled": 0, "grouped": 0, "sent": 0, "failed": 0}

    assert fake_stripe.requests == []
    assert len(unsent(tenant)) == 1
    assert not MeterPush.objects.for_tenant(tenant).exists()


def test_usage_of_a_tenant_without_a_customer_is_settled_not_sent(tenant, other_tenant, fake_stripe, yesterday):
    Subscription.all_tenants.update_or_create(tenant=tenant, defaults={"plan": Plan.objects.get(code="free")})
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    record(other_tenant, UsageKind.TRAINING_SECONDS, 40)  # no subscription row at all

    counts = usage_push_due()

    assert counts == {"settled": 2, "grouped": 0, "sent": 0, "failed": 0}
    assert fake_stripe.requests == []
    settled = list(UsageRecord.all_tenants.all())
    assert all(r.sent_at is not None and r.push_id is None for r in settled)


def test_an_event_older_than_stripe_takes_is_sent_with_the_oldest_time_it_takes(tenant, fake_stripe):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    now = timezone.now()
    record(tenant, UsageKind.PREDICTION, 3, now - timedelta(days=40))

    usage_push_due(now=now)

    (call,) = fake_stripe.calls("POST", EVENTS)
    assert now - timedelta(days=35) < datetime.fromtimestamp(int(call.params["timestamp"]), UTC) < now
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 3


# --- failures and crashes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [500, 429, "timeout", "reset"])
def test_a_failure_midway_is_retried_later_and_every_unit_arrives_once(four_pushes, fake_stripe, failure):
    assert usage_push_due(limit=1)["sent"] == 1
    # The library retries 5xx and connection failures itself (not a 429): fail every one of its tries.
    tries = 1 if failure == 429 else stripe_api.MAX_NETWORK_RETRIES + 1
    fake_stripe.fail(*[failure] * tries)
    before = len(fake_stripe.requests)
    now = timezone.now()

    counts = usage_push_due(now=now)

    failed = MeterPush.all_tenants.get(attempts=1)
    assert failed.sent_at is None and counts["failed"] == 1
    assert failed.last_error.split(":")[0] in {"APIError", "RateLimitError", "APIConnectionError"}
    assert now + timedelta(seconds=53) < failed.next_attempt_at <= now + timedelta(minutes=1)
    assert UsageRecord.all_tenants.filter(push=failed, sent_at__isnull=True).count() == 2
    if failure == 500:  # Stripe answered: the other events still went
        assert counts["sent"] == 2
        assert len(fake_stripe.requests) - before == tries + 2
    else:  # Stripe is struggling: the rest wait for the next round, untouched
        assert counts["sent"] == 0
        assert len(fake_stripe.requests) - before == tries
        assert MeterPush.all_tenants.filter(sent_at__isnull=True, attempts=0).count() == 2

    usage_push_due(now=failed.next_attempt_at + timedelta(seconds=1))

    assert stripe_totals(fake_stripe) == four_pushes
    assert not UsageRecord.all_tenants.filter(sent_at__isnull=True).exists()
    assert not MeterPush.all_tenants.filter(sent_at__isnull=True).exists()
    assert len(fake_stripe.meter_events) == 4


def test_the_wait_after_each_failure_grows_up_to_six_hours(tenant, fake_stripe, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 5, yesterday)
    now = timezone.now()
    waits = []
    for _ in range(4):
        fake_stripe.fail(503, 503, 503)
        usage_push_due(now=now)
        push = MeterPush.objects.for_tenant(tenant).get()
        waits.append(push.next_attempt_at - now)
        asked = len(fake_stripe.requests)
        usage_push_due(now=push.next_attempt_at - timedelta(seconds=1))  # not due yet: not sent
        assert len(fake_stripe.requests) == asked
        now = push.next_attempt_at + timedelta(seconds=1)

    assert push.attempts == 4 and push.sent_at is None and "APIError" in push.last_error
    for wait, minutes in zip(waits, (1, 2, 4, 8), strict=True):
        assert timedelta(minutes=minutes) * 0.9 <= wait <= timedelta(minutes=minutes)
    MeterPush.all_tenants.filter(pk=push.pk).update(attempts=30)
    fake_stripe.fail(503, 503, 503)
    usage_push_due(now=now)
    push.refresh_from_db()
    assert timedelta(hours=5) < push.next_attempt_at - now <= timedelta(hours=6)

    usage_push_due(now=push.next_attempt_at)

    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 5
    assert unsent(tenant) == []


def test_resend_makes_a_waiting_push_due_now(tenant, fake_stripe, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 5, yesterday)
    fake_stripe.fail(500, 500, 500)
    now = timezone.now()
    usage_push_due(now=now)
    push = MeterPush.objects.for_tenant(tenant).get()
    assert usage_push_due(now=now)["sent"] == 0

    assert usage_resend(push_ids=[push.pk]) == 1
    assert usage_push_due(now=now)["sent"] == 1

    assert usage_resend(push_ids=[push.pk]) == 0  # sent: nothing to resend
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 5


@pytest.mark.parametrize("stripe_remembers", ["idempotency key", "identifier only"])
def test_an_answer_lost_after_stripe_took_the_event_is_sent_again_and_counted_once(
    tenant, fake_stripe, monkeypatch, yesterday, stripe_remembers
):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 3, yesterday)
    record(tenant, UsageKind.PREDICTION, 4, yesterday)
    monkeypatch.setattr(stripe_api, "MAX_NETWORK_RETRIES", 0)
    fake_stripe.fail(500, after=True)
    now = timezone.now()

    assert usage_push_due(now=now)["failed"] == 1
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 7  # Stripe has it; we do not know
    assert len(unsent(tenant)) == 2
    if stripe_remembers == "identifier only":
        fake_stripe._replies.clear()  # idempotency keys forgotten (after 24 h at Stripe), identifiers kept

    push = MeterPush.objects.for_tenant(tenant).get()
    assert usage_push_due(now=push.next_attempt_at)["sent"] == 1

    calls = fake_stripe.calls("POST", EVENTS)
    assert len(calls) == 2 and len({c.idempotency_key for c in calls}) == 1
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 7
    assert unsent(tenant) == []


def test_a_sender_killed_before_marking_sent_leaves_a_push_sent_again_later_and_counted_once(
    tenant, fake_stripe, monkeypatch, yesterday
):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.TRAINING_SECONDS, 90, yesterday)
    mark_sent = meter_push._mark_sent
    calls = []

    def killed_once(push, now):
        calls.append(push.pk)
        if len(calls) == 1:
            raise SystemExit("worker killed")  # stands in for the process dying after Stripe's answer
        mark_sent(push, now)

    monkeypatch.setattr(meter_push, "_mark_sent", killed_once)
    now = timezone.now()
    with pytest.raises(SystemExit):
        usage_push_due(now=now)
    assert fake_stripe.metered(TRAINING, "cus_acme") == 90
    assert len(unsent(tenant)) == 1

    assert usage_push_due(now=now + SEND_LEASE - timedelta(seconds=1))["sent"] == 0  # still held by that sender
    assert usage_push_due(now=now + SEND_LEASE)["sent"] == 1

    assert len(fake_stripe.calls("POST", EVENTS)) == 2
    assert fake_stripe.metered(TRAINING, "cus_acme") == 90
    assert unsent(tenant) == []


# --- new records, two senders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("first_push", ["sent", "failing"])
def test_records_arriving_after_a_push_was_made_go_into_a_new_push(tenant, fake_stripe, yesterday, first_push):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    first = record(tenant, UsageKind.PREDICTION, 3, yesterday)
    if first_push == "failing":
        fake_stripe.fail(500, 500, 500)
    now = timezone.now()
    usage_push_due(now=now)
    second = record(tenant, UsageKind.PREDICTION, 4, yesterday + timedelta(minutes=5))

    usage_push_due(now=now + timedelta(hours=1))

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.push_id != first.push_id
    assert MeterPush.objects.for_tenant(tenant).get(pk=first.push_id).quantity == 3
    assert MeterPush.objects.for_tenant(tenant).get(pk=second.push_id).quantity == 4
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 7
    assert unsent(tenant) == []


def test_a_second_pusher_finds_nothing_left_to_send(four_pushes, fake_stripe):
    first = usage_push_due()
    second = usage_push_due()

    assert first["sent"] == 4
    assert second == {"settled": 0, "grouped": 0, "sent": 0, "failed": 0}
    assert len(fake_stripe.calls("POST", EVENTS)) == 4
    assert stripe_totals(fake_stripe) == four_pushes


@pytest.mark.django_db(transaction=True)
def test_records_another_pusher_holds_are_left_to_it(tenant, fake_stripe, yesterday):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    held = record(tenant, UsageKind.PREDICTION, 3, yesterday)
    free = record(tenant, UsageKind.PREDICTION, 4, yesterday)
    locked, release = threading.Event(), threading.Event()

    def other_pusher() -> None:
        try:
            with db.system_context(), transaction.atomic():
                list(UsageRecord.all_tenants.select_for_update().filter(pk=held.pk))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_pusher)
    thread.start()
    assert locked.wait(10)
    try:
        counts = usage_push_due()
    finally:
        release.set()
        thread.join(10)

    held.refresh_from_db()
    free.refresh_from_db()
    assert counts["grouped"] == 1 and held.push_id is None and free.sent_at is not None
    usage_push_due()
    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 7
    assert unsent(tenant) == []


def test_the_periodic_task_sends_due_usage(tenant, fake_stripe, yesterday):
    subscribe(tenant, stripe=fake_stripe, customer="cus_acme")
    record(tenant, UsageKind.PREDICTION, 6, yesterday)

    assert push_usage()["sent"] == 1

    assert fake_stripe.metered(PREDICTIONS, "cus_acme") == 6
    assert unsent(tenant) == []
