"""The billing banner of an organization's pages: a meter near or at its limit, a bill near the spend cap,
or a payment past due.

It is worked out only when a page shows it (``templates/billing/_banner.html``, on a tenant page), with two
queries (the subscription and its plan, the period's counters); other pages and the API cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone

from billing import quotas, selectors
from billing.models import Plan, Subscription, SubscriptionStatus, UsageKind
from billing.quotas import Period
from tenants import db

WARN_PERCENT = 80


@dataclass(frozen=True)
class Banner:
    text: str
    action: str  # what the link to the Billing page offers: "upgrade", "raise the cap", ...
    severe: bool  # at a limit (work is refused) or past due, rather than near one


def _date(at: datetime) -> str:
    return f"{at:%B} {at.day}, {at.year}"


def _past_due(subscription: Subscription, plan: Plan | None) -> Banner:
    grace = subscription.grace_until
    if grace is not None and grace > timezone.now():
        return Banner(
            f"Your last payment failed: update your payment method by {_date(grace)} to keep the "
            f"{subscription.plan.name} plan.",
            "manage billing",
            True,
        )
    fallback = plan.name if plan is not None else "free"
    return Banner(
        f"Your payment is past due: the {fallback} plan's limits apply until a payment goes through.",
        "manage billing",
        True,
    )


def _meter(kind: str, used: int, limit: int, capped: bool, resets: datetime) -> Banner | None:
    refused = "predictions are refused" if kind == UsageKind.PREDICTION else "no training run starts"
    action = "raise the cap" if capped else "upgrade"
    allowed = quotas.describe(kind, limit)
    if used >= limit:
        over = f"your spend cap's {allowed}" if capped else f"this month's {allowed}"
        return Banner(f"You have used all of {over}: {refused} until {_date(resets)}.", action, True)
    percent = 100 * used / limit if limit else 0
    if percent < WARN_PERCENT:
        return None
    bound = f"the {allowed} your spend cap allows this month" if capped else f"this month's {allowed}"
    return Banner(f"You have used {int(percent)} % of {bound}.", action, False)


def _spend(plan: Plan, used: dict[str, int], cap_cents: int) -> Banner | None:
    estimated = quotas.estimated_cents(plan, used)
    if cap_cents <= 0 or estimated < cap_cents * WARN_PERCENT / 100:
        return None
    percent = min(100, int(100 * estimated / cap_cents))
    return Banner(
        f"This month's estimated bill (${estimated / 100:,.2f}) is at {percent} % of your spend cap of "
        f"${cap_cents / 100:,.2f}: billable work stops at the cap.",
        "raise the cap",
        percent >= 100,
    )


def _plan_and_period(subscription: Subscription | None) -> tuple[Plan | None, Period]:
    """As ``selectors.plan_of`` and ``period_of``, from a subscription read here rather than the per-process
    cache: a page's queries stay the same whatever that cache holds."""
    now = timezone.now()
    if subscription is None:
        return selectors.default_plan(), quotas.calendar_month(now)
    plan: Plan | None = subscription.plan
    grace = subscription.grace_until
    if subscription.status == SubscriptionStatus.PAST_DUE and grace is not None and grace <= now:
        plan = selectors.default_plan() or plan
    start, end = subscription.current_period_start, subscription.current_period_end
    period = Period(start, end) if start and end and start <= now < end else quotas.calendar_month(now)
    return plan, period


def banner_of(*, tenant_id: UUID | str) -> Banner | None:
    """The most pressing billing line for the tenant's pages, or None when all is well (three queries at most)."""
    subscription = Subscription.objects.for_tenant(tenant_id).select_related("plan").first()
    plan, period = _plan_and_period(subscription)
    if subscription is not None and subscription.status == SubscriptionStatus.PAST_DUE:
        return _past_due(subscription, plan)
    if plan is None:
        return None
    cap = subscription.spend_cap_cents if subscription is not None else None
    if cap is None and all(quotas.overage_price(plan, kind) is not None for kind in UsageKind):
        return None  # a paid plan without a cap has no limit to come near
    used = selectors.counters_of(tenant_id=tenant_id, period=period)
    found: list[Banner] = []
    for kind in UsageKind:
        limit = quotas.limit_of(plan, kind, used, cap)
        if limit is not None:
            capped = quotas.overage_price(plan, kind) is not None
            banner = _meter(kind, used[kind], limit, capped, period.end)
            found += [banner] if banner is not None else []
    if cap is not None:
        spend = _spend(plan, used, cap)
        found += [spend] if spend is not None else []
    return max(found, key=lambda b: b.severe, default=None)


class LazyBanner:
    """The banner of the tenant the page was dispatched for, worked out on first use in a template."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = UUID(tenant_id)

    @cached_property
    def banner(self) -> Banner | None:
        return banner_of(tenant_id=self.tenant_id)


def billing(request: HttpRequest) -> dict[str, Any]:
    """``billing_banner`` on the dashboard pages of a tenant (the tenant views set the tenant first)."""
    tenant_id = db.current_tenant_id.get()
    if not tenant_id or request.path.startswith(("/api/", "/admin/")):
        return {}
    return {"billing_banner": LazyBanner(tenant_id)}
