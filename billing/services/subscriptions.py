"""Subscriptions: every tenant has one, on the default plan until it changes plan."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import stripe
from django.db import transaction

from billing import stripe_api
from billing.models import Subscription
from billing.selectors import default_plan
from tenants.errors import Conflict, InvalidInput
from tenants.models import AuditAction, Tenant
from tenants.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


def subscription_start(*, tenant: Tenant) -> Subscription | None:
    """Subscribe a new tenant to the default plan (no row when no plan is the default)."""
    plan = default_plan()
    if plan is None:
        return None
    subscription, _ = Subscription.objects.for_tenant(tenant).get_or_create(tenant=tenant, defaults={"plan": plan})
    return subscription


def on_tenant_created(sender: object, *, tenant: Tenant, **kwargs: Any) -> None:
    """``tenants.signals.tenant_created``: the new tenant starts on the default plan."""
    subscription_start(tenant=tenant)


def on_tenant_deleting(sender: object, *, tenant: Tenant, **kwargs: Any) -> None:
    """``tenants.signals.tenant_deleting``: once the organization is gone, Stripe stops charging it."""
    stripe_id = Subscription.objects.for_tenant(tenant).values_list("stripe_subscription_id", flat=True).first() or ""
    if stripe_id:
        from billing.tasks import cancel_stripe_subscription

        transaction.on_commit(lambda: cancel_stripe_subscription.delay(stripe_id), robust=True)


def stripe_subscription_cancel(*, stripe_subscription_id: str) -> None:
    """Cancel a Stripe subscription at once (an organization deleted). Raises on a Stripe error (the task
    retries); one already cancelled or gone counts as done."""
    try:
        stripe_api.client().v1.subscriptions.cancel(
            stripe_subscription_id, options={"idempotency_key": f"tunebase-cancel-{stripe_subscription_id}"}
        )
    except stripe.InvalidRequestError as error:
        if error.http_status != 404 and "canceled" not in str(error):
            raise
    logger.info("stripe subscription %s cancelled: its organization was deleted", stripe_subscription_id)


def subscription_locked(*, tenant: Tenant) -> Subscription:
    """The tenant's subscription, locked until the transaction ends (created on the default plan if missing)."""
    found = Subscription.objects.for_tenant(tenant).select_for_update().first()
    if found is not None:
        return found
    plan = default_plan()
    if plan is None:
        raise Conflict("No plan is the default plan; an operator must mark one in the admin.", code="no_default_plan")
    subscription, _ = (
        Subscription.objects.for_tenant(tenant)
        .select_for_update()
        .get_or_create(tenant=tenant, defaults={"plan": plan})
    )
    return subscription


@transaction.atomic
def spend_cap_set(
    *, tenant: Tenant, cap_cents: int | None, actor: User | None, ip_address: str | None = None
) -> Subscription:
    """Set (or clear, with None) the most the period's estimated bill may reach; billable work stops there."""
    if cap_cents is not None and cap_cents < 0:
        raise InvalidInput("A spend cap cannot be negative.", field="spend_cap")
    subscription = subscription_locked(tenant=tenant)
    if cap_cents is not None and cap_cents < subscription.plan.monthly_price_cents:
        price = subscription.plan.monthly_price_cents / 100
        raise InvalidInput(
            f"A spend cap must be at least the {subscription.plan.name} plan's price (${price:,.2f}).",
            field="spend_cap",
        )
    before = subscription.spend_cap_cents
    subscription.spend_cap_cents = cap_cents
    subscription.save(update_fields=["spend_cap_cents", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.SPEND_CAP_CHANGED,
        actor=actor,
        ip_address=ip_address,
        target_label=subscription.plan.name,
        before_cents=before,
        after_cents=cap_cents,
    )
    return subscription
