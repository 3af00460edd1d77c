"""Reads for billing: a tenant's plan and the limits it sets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings

from billing.models import LIMIT_SETTINGS, Plan, Subscription
from tenants import lookups

# Every prediction reads its tenant's limits: kept per process for SERVING_LOOKUP_TTL_S, and cleared
# when a plan or a subscription changes (billing's AppConfig watches both).
_plans: lookups.LookupCache[Plan] = lookups.LookupCache()


def default_plan() -> Plan | None:
    return Plan.objects.filter(is_default=True).first()


def plan_of(*, tenant_id: UUID | str) -> Plan | None:
    """The tenant's current plan: its subscription's, else the default plan (None when there is none)."""

    def load() -> Plan | None:
        subscription = Subscription.objects.for_tenant(tenant_id).select_related("plan").first()
        return subscription.plan if subscription is not None else default_plan()

    return _plans.get(str(tenant_id), load)


def limit_of(*, tenant_id: UUID | str, name: str) -> Any:
    """A limit of the tenant's plan (``LIMIT_SETTINGS``), or its setting when the plan leaves it empty."""
    plan = plan_of(tenant_id=tenant_id)
    value = getattr(plan, name) if plan is not None else None
    return value if value is not None else getattr(settings, LIMIT_SETTINGS[name])
