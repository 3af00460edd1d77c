"""Subscriptions: every tenant has one, on the default plan until it changes plan."""

from __future__ import annotations

from typing import Any

from billing.models import Subscription
from billing.selectors import default_plan
from tenants.models import Tenant


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
