"""Stripe's webhooks: signed deliveries stored once by id, then applied in order to the subscription."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Plan, StripeEvent, Subscription, SubscriptionStatus
from billing.selectors import plan_of
from billing.services.stripe_events import stripe_event_process
from billing.services.subscriptions import subscription_start
from billing.tasks import process_stripe_event
from tenants.models import AuditAction, AuditEvent
from tests.billing.fake_stripe import WEBHOOK_SECRET
from tests.billing.fake_stripe import stripe_signature as sign

pytestmark = pytest.mark.django_db

URL = "/billing/stripe/webhook/"
NOW = int(time.time())
_ids = itertools.count(1)


def event(kind: str, obj: dict, *, created: int = NOW, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test{next(_ids):06d}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": created,
        "type": kind,
        "livemode": False,
        "data": {"object": obj},
    }


def checkout_session(tenant, plan_code: str = "pro") -> dict:
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "client_reference_id": str(tenant.pk),
        "customer": "cus_acme",
        "subscription": "sub_1",
        "metadata": {"tenant_id": str(tenant.pk), "plan_code": plan_code},
    }


def stripe_subscription(status: str = "active", base: str = "price_pro_base", *, start: int = NOW, **fields) -> dict:
    end = start + 30 * 86400
    metered = base.replace("_base", "_predictions")
    return {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_acme",
        "status": status,
        "items": {
            "object": "list",
            "data": [
                {"id": "si_1", "price": {"id": base}, "current_period_start": start, "current_period_end": end},
                {"id": "si_2", "price": {"id": metered}, "current_period_start": start, "current_period_end": end},
            ],
        },
        "metadata": {},
        **fields,
    }


def stripe_invoice(**fields) -> dict:
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_acme",
        "subscription": "sub_1",
        "amount_due": 2900,
        "amount_paid": 0,
        "currency": "usd",
        **fields,
    }


@pytest.fixture
def subscription(tenant, owner) -> Subscription:
    """Acme on Free with a Stripe customer (it has opened Checkout once)."""
    subscription = subscription_start(tenant=tenant)
    subscription.stripe_customer_id = "cus_acme"
    subscription.save()
    return subscription


@pytest.fixture
def stripe_client() -> Client:
    """Stripe is no signed-in user, sends no CSRF token, and must not be asked for one."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def deliver(fake_stripe, stripe_client, monkeypatch, django_capture_on_commit_callbacks):
    """``deliver(event)``: POST it as Stripe does, then run the task it queued (as a worker would)."""
    monkeypatch.setattr(process_stripe_event, "delay", lambda event_id: process_stripe_event(event_id))

    def post(body: dict | str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, run: bool = True):
        payload = body if isinstance(body, str) else json.dumps(body)
        headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, secret=secret, timestamp=timestamp)}
        with django_capture_on_commit_callbacks(execute=run):
            return stripe_client.post(URL, data=payload, content_type="application/json", **headers)

    return post


def subscription_of(tenant) -> Subscription:
    return Subscription.objects.for_tenant(tenant).select_related("plan").get()


def audits(tenant, action) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_tenant(tenant).filter(action=action))


# --- receiving ------------------------------------------------------------------------------------------


def test_the_route_is_the_named_webhook_url():
    assert reverse("stripe-webhook") == URL


def test_a_signed_event_is_acknowledged_stored_and_applied(tenant, subscription, deliver):
    body = event("checkout.session.completed", checkout_session(tenant))

    response = deliver(body)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = StripeEvent.objects.get(pk=body["id"])
    assert stored.type == "checkout.session.completed"
    assert stored.tenant_id == tenant.pk
    assert stored.created == dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert stored.payload == body
    assert stored.processed_at is not None and stored.attempts == 1 and stored.error == ""


def test_checkout_completed_puts_the_tenant_on_the_plan_at_once(tenant, subscription, deliver):
    assert plan_of(tenant_id=tenant.pk).code == "free"  # cached in this process from here

    deliver(event("checkout.session.completed", checkout_session(tenant, "pro")))

    assert plan_of(tenant_id=tenant.pk).code == "pro"
    current = subscription_of(tenant)
    assert current.stripe_subscription_id == "sub_1"
    assert current.stripe_customer_id == "cus_acme"
    assert current.status == SubscriptionStatus.ACTIVE
    (audit,) = audits(tenant, AuditAction.CHECKOUT_COMPLETED)
    assert audit.actor is None and audit.actor_label == "Stripe"
    assert audit.details["from_plan"] == "free" and audit.details["to_plan"] == "pro"


def test_a_forged_signature_is_refused_and_nothing_stored(tenant, subscription, deliver):
    response = deliver(event("checkout.session.completed", checkout_session(tenant)), secret="whsec_guessed")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert "does not match" in response.json()["error"]["message"]
    assert StripeEvent.objects.count() == 0
    assert subscription_of(tenant).plan.code == "free"


def test_a_tampered_body_is_refused(tenant, subscription, fake_stripe, stripe_client):
    genuine = json.dumps(event("checkout.session.completed", checkout_session(tenant, "pro")))
    tampered = genuine.replace('"plan_code": "pro"', '"plan_code": "scale"')

    response = stripe_client.post(
        URL, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(genuine)
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0


def test_an_unsigned_delivery_is_refused(fake_stripe, stripe_client):
    response = stripe_client.post(URL, data=json.dumps(event("invoice.paid", {})), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert "no Stripe-Signature" in response.json()["error"]["message"]
    assert StripeEvent.objects.count() == 0


def test_a_stale_delivery_is_refused(tenant, subscription, deliver, settings):
    stale = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_S - 10

    response = deliver(event("checkout.session.completed", checkout_session(tenant)), timestamp=stale)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert "too old" in response.json()["error"]["message"]
    assert StripeEvent.objects.count() == 0


def test_a_signed_body_that_is_no_event_is_refused(deliver):
    for body in ("{not json", "[]", json.dumps({"hello": "world"})):
        response = deliver(body)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_payload"
    assert StripeEvent.objects.count() == 0


def test_a_replayed_event_is_acknowledged_and_applied_once(tenant, subscription, deliver):
    body = event("checkout.session.completed", checkout_session(tenant))

    first = deliver(body)
    again = deliver(body)

    assert first.json() == {"received": True, "duplicate": False}
    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert StripeEvent.objects.count() == 1
    assert len(audits(tenant, AuditAction.CHECKOUT_COMPLETED)) == 1
    assert StripeEvent.objects.get().attempts == 1


def test_a_redelivery_of_an_event_not_yet_applied_queues_it_again(tenant, subscription, deliver):
    body = event("checkout.session.completed", checkout_session(tenant))
    deliver(body, run=False)  # stored; its task never ran (the broker lost it, say)
    assert StripeEvent.objects.get().processed_at is None

    response = deliver(body)

    assert response.json()["duplicate"] is True
    assert StripeEvent.objects.get().processed_at is not None
    assert subscription_of(tenant).plan.code == "pro"


def test_the_endpoint_takes_only_post(fake_stripe, stripe_client):
    response = stripe_client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_endpoint_is_absent_while_billing_is_not_configured(settings, stripe_client):
    settings.STRIPE_SECRET_KEY = ""
    payload = json.dumps(event("invoice.paid", {}))

    response = stripe_client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
    )

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Billing is not configured on this server."
    assert StripeEvent.objects.count() == 0


def test_the_endpoint_is_absent_without_a_webhook_secret(fake_stripe, settings, stripe_client):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = stripe_client.post(URL, data="{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    assert response.status_code == 404


# --- applying -------------------------------------------------------------------------------------------


def test_a_subscription_update_sets_plan_status_and_period_from_its_items(tenant, subscription, deliver):
    deliver(event("customer.subscription.updated", stripe_subscription("active", "price_scale_base", start=NOW)))

    current = subscription_of(tenant)
    assert current.plan.code == "scale"
    assert current.stripe_subscription_id == "sub_1"
    assert current.stripe_status == "active"
    assert current.current_period_start == dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert current.current_period_end == dt.datetime.fromtimestamp(NOW + 30 * 86400, tz=dt.UTC)
    (audit,) = audits(tenant, AuditAction.SUBSCRIPTION_CHANGED)
    assert audit.details["to_plan"] == "scale" and audit.details["stripe_status"] == "active"


def test_the_period_is_also_read_where_older_api_versions_put_it(tenant, subscription, deliver):
    obj = stripe_subscription("active", current_period_start=NOW - 86400, current_period_end=NOW + 86400)
    for item in obj["items"]["data"]:
        del item["current_period_start"], item["current_period_end"]

    deliver(event("customer.subscription.created", obj))

    current = subscription_of(tenant)
    assert current.plan.code == "pro"
    assert current.current_period_end == dt.datetime.fromtimestamp(NOW + 86400, tz=dt.UTC)


def test_an_older_update_arriving_late_does_not_downgrade(tenant, subscription, deliver):
    newer = event("customer.subscription.updated", stripe_subscription("active", "price_scale_base"), created=NOW)
    older = event("customer.subscription.updated", stripe_subscription("active", "price_pro_base"), created=NOW - 60)

    deliver(newer)
    response = deliver(older)

    assert response.status_code == 200
    assert subscription_of(tenant).plan.code == "scale"
    assert plan_of(tenant_id=tenant.pk).code == "scale"
    assert subscription_of(tenant).stripe_state_at == dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert StripeEvent.objects.get(pk=older["id"]).processed_at is not None
    assert len(audits(tenant, AuditAction.SUBSCRIPTION_CHANGED)) == 1


def test_the_subscription_created_just_before_its_checkout_still_sets_the_period(tenant, subscription, deliver):
    # Stripe creates the subscription, then completes the Checkout; the two may arrive the other way round.
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW))
    deliver(
        event(
            "customer.subscription.created",
            stripe_subscription("active", "price_pro_base", start=NOW - 1),
            created=NOW - 1,
        )
    )

    current = subscription_of(tenant)
    assert current.plan.code == "pro"
    assert current.current_period_start == dt.datetime.fromtimestamp(NOW - 1, tz=dt.UTC)
    assert current.stripe_state_at == dt.datetime.fromtimestamp(NOW - 1, tz=dt.UTC)


def test_events_of_the_same_second_apply_in_arrival_order(tenant, subscription, deliver):
    deliver(event("customer.subscription.updated", stripe_subscription("active", "price_pro_base")))
    deliver(event("customer.subscription.updated", stripe_subscription("active", "price_scale_base")))

    assert subscription_of(tenant).plan.code == "scale"


def test_a_canceled_subscription_goes_back_to_the_default_plan(tenant, subscription, deliver):
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW - 10))
    assert plan_of(tenant_id=tenant.pk).code == "pro"

    deliver(event("customer.subscription.updated", stripe_subscription("canceled")))

    current = subscription_of(tenant)
    assert current.plan.code == "free" and current.stripe_subscription_id == ""
    assert plan_of(tenant_id=tenant.pk).code == "free"
    assert len(audits(tenant, AuditAction.SUBSCRIPTION_ENDED)) == 1


def test_a_deleted_subscription_goes_back_to_the_default_plan(tenant, subscription, deliver):
    deliver(event("checkout.session.completed", checkout_session(tenant, "scale"), created=NOW - 10))
    deliver(event("customer.subscription.updated", stripe_subscription("active", "price_scale_base"), created=NOW - 5))

    deliver(event("customer.subscription.deleted", stripe_subscription("canceled", "price_scale_base")))

    current = subscription_of(tenant)
    assert current.plan.code == "free"
    assert current.status == SubscriptionStatus.ACTIVE
    assert current.stripe_subscription_id == ""
    assert current.current_period_start is None and current.current_period_end is None
    assert current.stripe_customer_id == "cus_acme"  # kept: its invoices, a later checkout
    assert plan_of(tenant_id=tenant.pk).code == "free"
    (audit,) = audits(tenant, AuditAction.SUBSCRIPTION_ENDED)
    assert audit.details["from_plan"] == "scale"


def test_the_end_of_a_replaced_subscription_leaves_the_current_one_alone(tenant, subscription, deliver):
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW - 10))

    deliver(event("customer.subscription.deleted", stripe_subscription("canceled", id="sub_old")))

    assert subscription_of(tenant).plan.code == "pro"
    assert subscription_of(tenant).stripe_subscription_id == "sub_1"


def test_a_failed_payment_makes_the_subscription_past_due_with_a_grace_period_and_mails_the_owners(
    tenant, subscription, owner, deliver, settings, mailoutbox
):
    settings.BILLING_GRACE_DAYS = 3
    settings.PUBLIC_URL = "https://app.tunebase.example"
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW - 10))

    deliver(event("invoice.payment_failed", stripe_invoice(attempt_count=1)))

    current = subscription_of(tenant)
    assert current.status == SubscriptionStatus.PAST_DUE
    expected = timezone.now() + dt.timedelta(days=3)
    assert abs(current.grace_until - expected) < dt.timedelta(seconds=30)
    assert current.grace_until == current.past_due_since + dt.timedelta(days=3)
    assert plan_of(tenant_id=tenant.pk).code == "pro"  # during the grace period
    (mail,) = mailoutbox
    assert mail.subject == "Payment failed"
    assert mail.to == [owner.user.email]
    assert "https://app.tunebase.example/t/acme/billing/" in mail.body
    assert f"{current.grace_until:%B} {current.grace_until.day}, {current.grace_until.year}" in mail.body
    (audit,) = audits(tenant, AuditAction.PAYMENT_FAILED)
    assert audit.details["invoice"] == "in_1"


def test_a_second_failed_payment_keeps_the_first_grace_period(tenant, subscription, deliver, mailoutbox):
    deliver(event("invoice.payment_failed", stripe_invoice(), created=NOW - 10))
    first = subscription_of(tenant).grace_until

    deliver(event("invoice.payment_failed", stripe_invoice(attempt_count=2)))

    assert subscription_of(tenant).grace_until == first
    assert len(mailoutbox) == 2


def test_past_the_grace_period_the_default_plans_limits_apply(tenant, subscription, deliver, time_machine):
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW - 10))
    deliver(event("invoice.payment_failed", stripe_invoice()))
    grace_until = subscription_of(tenant).grace_until

    time_machine.move_to(grace_until + dt.timedelta(minutes=1))

    assert plan_of(tenant_id=tenant.pk).code == "free"


def test_a_paid_invoice_clears_the_past_due_state(tenant, subscription, deliver):
    deliver(event("checkout.session.completed", checkout_session(tenant, "pro"), created=NOW - 10))
    deliver(event("invoice.payment_failed", stripe_invoice(), created=NOW - 5))

    deliver(event("invoice.paid", stripe_invoice(amount_paid=2900, status="paid")))

    current = subscription_of(tenant)
    assert current.status == SubscriptionStatus.ACTIVE
    assert current.past_due_since is None and current.grace_until is None
    assert current.plan.code == "pro"
    (audit,) = audits(tenant, AuditAction.INVOICE_PAID)
    assert audit.details["amount_paid"] == 2900


def test_a_past_due_subscription_update_starts_the_grace_period(tenant, subscription, deliver, settings):
    settings.BILLING_GRACE_DAYS = 7

    deliver(event("customer.subscription.updated", stripe_subscription("past_due")))

    current = subscription_of(tenant)
    assert current.status == SubscriptionStatus.PAST_DUE
    assert current.plan.code == "pro"
    assert current.grace_until == current.past_due_since + dt.timedelta(days=7)


def test_an_event_of_another_type_is_stored_and_marked_processed(tenant, subscription, deliver):
    body = event("customer.updated", {"id": "cus_acme", "object": "customer", "email": "billing@acme.test"})

    response = deliver(body)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(pk=body["id"])
    assert stored.processed_at is not None and stored.tenant_id == tenant.pk
    assert not AuditEvent.objects.for_tenant(tenant).filter(action__startswith="billing.").exists()
    assert subscription_of(tenant).stripe_state_at is None


def test_an_event_of_a_customer_not_ours_changes_nothing(tenant, subscription, deliver):
    body = event("invoice.payment_failed", stripe_invoice(customer="cus_someone_else"))

    deliver(body)

    assert StripeEvent.objects.get(pk=body["id"]).processed_at is not None
    assert subscription_of(tenant).status == SubscriptionStatus.ACTIVE


def test_a_failing_event_stays_unprocessed_with_its_error_and_is_applied_on_retry(tenant, subscription, deliver):
    body = event("checkout.session.completed", checkout_session(tenant, "platinum"))

    with pytest.raises(ValueError, match="platinum"):
        deliver(body)  # the worker's task fails (and Celery will retry it)

    stored = StripeEvent.objects.get(pk=body["id"])
    assert stored.processed_at is None
    assert "platinum" in stored.error
    assert stored.attempts == 1
    assert subscription_of(tenant).plan.code == "free"
    assert audits(tenant, AuditAction.CHECKOUT_COMPLETED) == []

    Plan.objects.create(code="platinum", name="Platinum", monthly_price_cents=99900)
    stripe_event_process(event_id=body["id"])

    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.error == "" and stored.attempts == 2
    assert subscription_of(tenant).plan.code == "platinum"
