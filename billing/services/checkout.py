"""Paying through Stripe: the tenant's customer, Checkout to subscribe, the Customer Portal to manage,
the invoices; and the operators' overrides (credit, plan)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.db import transaction
from stripe.params.checkout import SessionCreateParamsLineItem

from billing import stripe_api
from billing.models import Plan, Subscription
from billing.services.subscriptions import subscription_locked
from tenants.errors import Conflict, InvalidInput, ServiceError
from tenants.models import AuditAction, Membership, Role, Tenant
from tenants.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


class StripeUnavailable(ServiceError):
    """Stripe refused or could not be reached (after the library's own retries)."""

    status = 502
    code = "stripe_unavailable"

    def __init__(self) -> None:
        super().__init__("Stripe could not be reached just now; nothing was changed. Try again in a minute.")


def billing_url(tenant: Tenant) -> str:
    return f"{settings.PUBLIC_URL}/t/{tenant.slug}/billing/"


def _owner_email(tenant: Tenant) -> str:
    owner = (
        Membership.objects.for_tenant(tenant)
        .filter(role=Role.OWNER)
        .exclude(user__email="")
        .select_related("user")
        .order_by("created_at")
        .first()
    )
    return owner.user.email if owner is not None else ""


@transaction.atomic
def stripe_customer_ensure(*, tenant: Tenant) -> str:
    """The tenant's Stripe customer id, creating the customer on first use. Raises ``StripeOff``."""
    client = stripe_api.client()
    subscription = subscription_locked(tenant=tenant)  # two clicks at once make one customer
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    try:
        customer = client.v1.customers.create(
            {
                "name": tenant.name,
                "email": _owner_email(tenant),
                "metadata": {"tenant_id": str(tenant.pk), "tenant_slug": tenant.slug},
            },
            {"idempotency_key": f"tunebase-customer-{tenant.pk}"},
        )
    except stripe.StripeError as exc:
        logger.warning("stripe customer create failed tenant=%s: %s", tenant.pk, exc)
        raise StripeUnavailable() from exc
    subscription.stripe_customer_id = customer.id
    subscription.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer.id


def _line_items(plan: Plan) -> list[SessionCreateParamsLineItem]:
    prices = settings.STRIPE_PRICES.get(plan.code, {})
    base = prices.get("base")
    if not base:
        raise InvalidInput(
            f"The {plan.name} plan cannot be bought on this server yet: its Stripe price is not set "
            f"(STRIPE_PRICE_{plan.code.upper()}).",
            code="plan_not_for_sale",
            field="plan",
        )
    items: list[SessionCreateParamsLineItem] = [{"price": base, "quantity": 1}]
    # Metered prices take no quantity: Stripe bills what the meters count.
    items += [{"price": prices[part]} for part in ("predictions", "training") if prices.get(part)]
    return items


def checkout_start(*, tenant: Tenant, plan_code: str, actor: User) -> str:
    """The URL of a Stripe Checkout page subscribing the tenant to the plan ``plan_code``.

    Raises ``StripeOff``; ``InvalidInput`` for an unknown, free or unpriced plan; ``Conflict`` when the
    tenant already has a subscription (plans change in the Customer Portal)."""
    client = stripe_api.client()
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None or plan.is_default:
        raise InvalidInput(f"There is no paid plan called {plan_code!r}.", code="unknown_plan", field="plan")
    line_items = _line_items(plan)
    current = Subscription.objects.for_tenant(tenant).first()
    if current is not None and current.stripe_subscription_id:
        raise Conflict(
            "This organization already has a subscription: change plans from Manage billing.",
            code="already_subscribed",
        )
    customer = stripe_customer_ensure(tenant=tenant)
    metadata = {"tenant_id": str(tenant.pk), "plan_code": plan.code}
    try:
        session = client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": str(tenant.pk),
                "line_items": line_items,
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": f"{billing_url(tenant)}?checkout=success",
                "cancel_url": f"{billing_url(tenant)}?checkout=cancelled",
            }
        )
    except stripe.StripeError as exc:
        logger.warning("stripe checkout failed tenant=%s plan=%s: %s", tenant.pk, plan.code, exc)
        raise StripeUnavailable() from exc
    logger.info("checkout started tenant=%s plan=%s by=%s session=%s", tenant.pk, plan.code, actor.pk, session.id)
    return str(session.url)


def portal_start(*, tenant: Tenant) -> str:
    """The URL of the tenant's Stripe Customer Portal (payment method, plan, cancel, invoices)."""
    client = stripe_api.client()
    current = Subscription.objects.for_tenant(tenant).first()
    if current is None or not current.stripe_customer_id:
        raise Conflict(
            "This organization has no billing account yet: upgrade to a paid plan first.", code="no_billing_account"
        )
    try:
        session = client.v1.billing_portal.sessions.create(
            {"customer": current.stripe_customer_id, "return_url": billing_url(tenant)}
        )
    except stripe.StripeError as exc:
        logger.warning("stripe portal failed tenant=%s: %s", tenant.pk, exc)
        raise StripeUnavailable() from exc
    return str(session.url)


def invoices_list(*, tenant: Tenant, limit: int = 12) -> list[dict[str, Any]]:
    """The tenant's latest invoices at Stripe, newest first; [] with Stripe off, no customer or Stripe down."""
    if not stripe_api.enabled():
        return []
    customer = Subscription.objects.for_tenant(tenant).values_list("stripe_customer_id", flat=True).first()
    if not customer:
        return []
    try:
        invoices = stripe_api.client().v1.invoices.list({"customer": customer, "limit": limit})
    except stripe.StripeError as exc:
        logger.warning("stripe invoices list failed tenant=%s: %s", tenant.pk, exc)
        return []
    return [
        {
            "id": invoice.id,
            "number": invoice.number,
            "status": invoice.status,
            "total": invoice.total,
            "currency": invoice.currency,
            "created": datetime.fromtimestamp(invoice.created, tz=UTC),
            "hosted_invoice_url": invoice.hosted_invoice_url,
            "invoice_pdf": invoice.invoice_pdf,
        }
        for invoice in invoices.data
    ]


@transaction.atomic
def credit_grant(*, tenant: Tenant, amount_cents: int, actor: User | None, reason: str) -> Subscription:
    """Credit off the tenant's next bills: kept here and, for a Stripe customer, on its Stripe balance."""
    if amount_cents <= 0:
        raise InvalidInput("A credit must be a positive amount of cents.", code="invalid_amount", field="amount_cents")
    subscription = subscription_locked(tenant=tenant)
    subscription.credit_cents += amount_cents
    subscription.save(update_fields=["credit_cents", "updated_at"])
    audit = audit_record(
        tenant=tenant,
        action=AuditAction.CREDIT_GRANTED,
        actor=actor,
        amount_cents=amount_cents,
        credit_cents=subscription.credit_cents,
        reason=reason,
    )
    if subscription.stripe_customer_id and stripe_api.enabled():
        try:
            transaction_ = stripe_api.client().v1.customers.balance_transactions.create(
                subscription.stripe_customer_id,
                {"amount": -amount_cents, "currency": "usd", "description": reason[:350]},
                {"idempotency_key": f"tunebase-credit-{audit.pk}"},
            )
        except stripe.StripeError as exc:
            logger.warning("stripe credit failed tenant=%s: %s", tenant.pk, exc)
            raise StripeUnavailable() from exc
        audit.details["stripe_balance_transaction"] = transaction_.id
        audit.save(update_fields=["details"])
    return subscription


@transaction.atomic
def plan_change(*, tenant: Tenant, plan: Plan, actor: User | None, reason: str) -> Subscription:
    """An operator's change of the tenant's plan, in effect at once (Stripe is not told: a later change of
    the Stripe subscription sets the plan again)."""
    subscription = subscription_locked(tenant=tenant)
    previous = subscription.plan.code
    subscription.plan = plan
    subscription.save()  # a model save: the per-process plan cache forgets the tenant at once
    audit_record(
        tenant=tenant,
        action=AuditAction.PLAN_CHANGED,
        actor=actor,
        target_label=plan.name,
        from_plan=previous,
        to_plan=plan.code,
        reason=reason,
    )
    return subscription
