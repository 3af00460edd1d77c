"""Stripe's webhook events: verified and stored by id on arrival, then applied once by a task.

Stripe delivers at least once and in no set order. A delivery of a stored id is acknowledged and not
applied again; an event older than the newest Stripe state applied to a subscription
(``Subscription.stripe_state_at``) changes nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateformat import format as date_format

from billing.models import Plan, StripeEvent, Subscription, SubscriptionStatus
from billing.selectors import default_plan
from billing.services.checkout import billing_url
from billing.services.subscriptions import subscription_locked
from tenants.errors import InvalidInput
from tenants.models import AuditAction, Membership, Role, Tenant
from tenants.services.audit import audit_record

logger = logging.getLogger(__name__)

STRIPE = "Stripe"  # the actor of the audit events written here


# --- receiving -----------------------------------------------------------------------------------------


def _verify(payload: bytes, signature: str | None) -> None:
    """Stripe's signature check (``t=<time>,v1=<HMAC-SHA256>``), telling a stale delivery from a forged one."""
    if not signature:
        raise InvalidInput("The request has no Stripe-Signature header.", code="invalid_signature")
    secret = settings.STRIPE_WEBHOOK_SECRET
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=None)
    except stripe.SignatureVerificationError as exc:
        raise InvalidInput(
            "The Stripe-Signature does not match this payload and the webhook secret.", code="invalid_signature"
        ) from exc
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        raise InvalidInput(
            f"The Stripe-Signature is too old (more than {settings.STRIPE_WEBHOOK_TOLERANCE_S} s).",
            code="invalid_signature",
        ) from exc


def _event_of(payload: bytes) -> dict[str, Any]:
    """The event a verified payload holds: id, type, created (Unix time) and data.object."""
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise InvalidInput("The payload is not JSON.", code="invalid_payload") from exc
    data = body.get("data") if isinstance(body, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    well_formed = (
        isinstance(obj, dict)
        and body.get("object") == "event"
        and isinstance(body.get("id"), str)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("created"), int)
    )
    if not well_formed:
        raise InvalidInput("The payload is not a Stripe event.", code="invalid_payload")
    return body


def _tenant_id_of_customer(customer: str) -> uuid.UUID | None:
    """The tenant whose subscription has this Stripe customer: Stripe names customers, not tenants."""
    found = Subscription.all_tenants.filter(stripe_customer_id=customer).values_list("tenant_id", flat=True).first()
    return uuid.UUID(str(found)) if found is not None else None


def _existing_tenant_id(value: Any) -> uuid.UUID | None:
    try:
        tenant_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return tenant_id if Tenant.objects.filter(pk=tenant_id).exists() else None


def tenant_id_of(obj: dict[str, Any]) -> uuid.UUID | None:
    """The tenant an event's object is about: our reference on it, its metadata, or its customer."""
    metadata = obj.get("metadata") or {}
    for value in (obj.get("client_reference_id"), metadata.get("tenant_id")):
        if value and (tenant_id := _existing_tenant_id(value)):
            return tenant_id
    customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return _tenant_id_of_customer(customer) if isinstance(customer, str) and customer else None


def stripe_event_receive(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify a delivery and store its event by id; an event not yet applied is queued (after commit).

    Returns the stored row and whether it is new. Raises ``InvalidInput`` (``invalid_signature``,
    ``invalid_payload``)."""
    from billing.tasks import process_stripe_event

    _verify(payload, signature)
    body = _event_of(payload)
    row, created = StripeEvent.objects.get_or_create(
        id=str(body["id"]),
        defaults={
            "type": str(body["type"]),
            "created": datetime.fromtimestamp(body["created"], tz=UTC),
            "payload": body,
            "tenant_id": tenant_id_of(body["data"]["object"]),
        },
    )
    if row.processed_at is None:
        event_id = row.id
        transaction.on_commit(lambda: process_stripe_event.delay(event_id))
    logger.info("stripe event received id=%s type=%s new=%s", row.id, row.type, created)
    return row, created


# --- applying ------------------------------------------------------------------------------------------


def stripe_event_process(*, event_id: str) -> None:
    """Apply a stored event once. A failure records its error and is raised again (the task retries)."""
    try:
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().filter(pk=event_id).first()
            if event is None:
                logger.warning("stripe event %s is not stored", event_id)
                return
            if event.processed_at is not None:
                return
            handler = HANDLERS.get(event.type)
            if handler is not None:
                _apply(event, handler)
            event.processed_at = timezone.now()
            event.attempts += 1
            event.error = ""
            event.save(update_fields=["processed_at", "attempts", "error", "tenant"])
    except Exception as exc:
        with transaction.atomic():  # outside the rolled-back one: the error stays for the operators
            StripeEvent.objects.filter(pk=event_id).update(
                attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:4000]
            )
        raise


Handler = Callable[[StripeEvent, dict[str, Any], Subscription], None]


def _apply(event: StripeEvent, handler: Handler) -> None:
    obj = event.payload["data"]["object"]
    if event.tenant_id is None:
        event.tenant_id = tenant_id_of(obj)
    if event.tenant_id is None:
        logger.warning("stripe event %s (%s) names no tenant of ours: ignored", event.id, event.type)
        return
    tenant = Tenant.objects.get(pk=event.tenant_id)
    subscription = subscription_locked(tenant=tenant)
    if subscription.stripe_state_at is not None and event.created < subscription.stripe_state_at:
        logger.info(
            "stripe event %s (%s) is older than the state applied (%s): ignored",
            event.id,
            event.type,
            subscription.stripe_state_at.isoformat(),
        )
        return
    if event.type != "checkout.session.completed":
        # A completed Checkout links the customer and the plan but carries no subscription state (status,
        # period): the subscription's own events, even one created a moment before it, still apply.
        subscription.stripe_state_at = event.created
    handler(event, obj, subscription)
    subscription.save()  # a model save: the per-process plan cache forgets the tenant at once


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _default_plan() -> Plan:
    plan = default_plan()
    if plan is None:
        raise RuntimeError("no plan is the default plan")
    return plan


def _clear_past_due(subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.grace_until = None


def _set_past_due(subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.PAST_DUE
    if subscription.past_due_since is None:
        subscription.past_due_since = timezone.now()
    if subscription.grace_until is None:
        subscription.grace_until = subscription.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def _end(subscription: Subscription) -> str:
    """Back to the default plan, with no Stripe subscription; returns the plan code it left."""
    previous = subscription.plan.code
    subscription.plan = _default_plan()
    subscription.stripe_subscription_id = ""
    subscription.current_period_start = None
    subscription.current_period_end = None
    _clear_past_due(subscription)
    return previous


def _audit(event: StripeEvent, subscription: Subscription, action: AuditAction, **details: Any) -> None:
    audit_record(
        tenant=subscription.tenant_id,
        action=action,
        actor=None,
        actor_label=STRIPE,
        target_label=subscription.plan.name,
        stripe_event=event.id,
        **details,
    )


def _checkout_completed(event: StripeEvent, session: dict[str, Any], subscription: Subscription) -> None:
    code = (session.get("metadata") or {}).get("plan_code")
    if not code:
        logger.info("checkout session %s buys no plan of ours: ignored", session.get("id"))
        return
    plan = Plan.objects.filter(code=code).first()
    if plan is None:  # an error to retry: the plan may be restored
        raise ValueError(f"checkout session {session.get('id')} names no plan of ours (plan_code={code!r})")
    previous = subscription.plan.code
    if isinstance(session.get("customer"), str):
        subscription.stripe_customer_id = session["customer"]
    if isinstance(session.get("subscription"), str):
        subscription.stripe_subscription_id = session["subscription"]
    subscription.plan = plan
    _clear_past_due(subscription)
    _audit(event, subscription, AuditAction.CHECKOUT_COMPLETED, from_plan=previous, to_plan=plan.code)


def _plan_of_items(obj: dict[str, Any]) -> Plan | None:
    """The plan whose base price is among the subscription's items, else the one its metadata names."""
    items = (obj.get("items") or {}).get("data") or []
    prices: set[str] = set()
    for item in items:
        price = item.get("price")
        prices.add(str(price.get("id") if isinstance(price, dict) else price))
    for code, plan_prices in settings.STRIPE_PRICES.items():
        if plan_prices.get("base") in prices and (plan := Plan.objects.filter(code=code).first()):
            return plan
    named = (obj.get("metadata") or {}).get("plan_code")
    return Plan.objects.filter(code=named).first() if named else None


def _period(obj: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The current period: on the subscription in older API versions, on each item in newer ones."""
    items = (obj.get("items") or {}).get("data") or []
    source = obj if obj.get("current_period_end") or not items else items[0]
    return _timestamp(source.get("current_period_start")), _timestamp(source.get("current_period_end"))


ENDED = {"canceled", "incomplete_expired"}
PAID = {"active", "trialing"}
UNPAID = {"past_due", "unpaid"}


def _another_subscription(obj: dict[str, Any], subscription: Subscription) -> bool:
    return bool(subscription.stripe_subscription_id) and subscription.stripe_subscription_id != obj.get("id")


def _subscription_changed(event: StripeEvent, obj: dict[str, Any], subscription: Subscription) -> None:
    status = str(obj.get("status") or "")
    if status in ENDED and _another_subscription(obj, subscription):
        logger.info("stripe event %s ends subscription %s, not the tenant's current one", event.id, obj.get("id"))
        return
    previous = subscription.plan.code
    subscription.stripe_status = status
    if status in ENDED:
        _end(subscription)
        _audit(event, subscription, AuditAction.SUBSCRIPTION_ENDED, from_plan=previous, stripe_status=status)
        return
    plan = _plan_of_items(obj)
    if plan is not None:
        subscription.plan = plan
    subscription.stripe_subscription_id = str(obj.get("id") or subscription.stripe_subscription_id)
    subscription.current_period_start, subscription.current_period_end = _period(obj)
    if status in PAID:
        _clear_past_due(subscription)
    elif status in UNPAID:
        _set_past_due(subscription)
    _audit(
        event,
        subscription,
        AuditAction.SUBSCRIPTION_CHANGED,
        from_plan=previous,
        to_plan=subscription.plan.code,
        stripe_status=status,
    )


def _subscription_deleted(event: StripeEvent, obj: dict[str, Any], subscription: Subscription) -> None:
    if _another_subscription(obj, subscription):
        logger.info("stripe event %s ends subscription %s, not the tenant's current one", event.id, obj.get("id"))
        return
    previous = _end(subscription)
    subscription.stripe_status = str(obj.get("status") or "canceled")
    _audit(
        event,
        subscription,
        AuditAction.SUBSCRIPTION_ENDED,
        from_plan=previous,
        stripe_status=subscription.stripe_status,
    )


def _invoice_paid(event: StripeEvent, invoice: dict[str, Any], subscription: Subscription) -> None:
    _clear_past_due(subscription)
    _audit(
        event,
        subscription,
        AuditAction.INVOICE_PAID,
        invoice=invoice.get("id"),
        amount_paid=invoice.get("amount_paid"),
        currency=invoice.get("currency"),
    )


def _payment_failed(event: StripeEvent, invoice: dict[str, Any], subscription: Subscription) -> None:
    _set_past_due(subscription)
    _audit(
        event,
        subscription,
        AuditAction.PAYMENT_FAILED,
        invoice=invoice.get("id"),
        amount_due=invoice.get("amount_due"),
        grace_until=subscription.grace_until.isoformat() if subscription.grace_until else None,
    )
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    owners = Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).select_related("user")
    recipients = sorted({m.user.email for m in owners if m.user.email})
    until = (
        date_format(subscription.grace_until, "F j, Y") if subscription.grace_until else "the end of the grace period"
    )
    plan, fallback = subscription.plan.name, _default_plan().name
    body = (
        f"The payment for {tenant.name}'s {plan} subscription failed.\n\n"
        f"{tenant.name} keeps the {plan} plan until {until}. Update the payment method before then; after that,"
        f" the organization gets the {fallback} plan's limits until a payment goes through.\n\n"
        f"Billing: {billing_url(tenant)}\n"
    )
    if recipients:  # sent once the change is committed: an attempt that fails sends nothing
        transaction.on_commit(lambda: _mail(recipients, "Payment failed", body))


def _mail(recipients: list[str], subject: str, body: str) -> None:
    try:
        send_mail(subject, body, None, recipients)
    except OSError:  # the change is applied; a mail server away must not make the event look failed
        logger.exception("payment failed mail to %s not sent", recipients)


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_deleted,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _payment_failed,
}
