"""Reads for billing: a tenant's plan, period and limits, whether work fits its quota, and its usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from billing import quotas
from billing.models import (
    LIMIT_SETTINGS,
    Plan,
    QuotaCounter,
    Subscription,
    SubscriptionStatus,
    ThresholdNotice,
    UsageKind,
    UsageRecord,
)
from billing.quotas import Period
from tenants import lookups
from tenants.models import Tenant


@dataclass(frozen=True)
class Billing:
    """What every billable request needs to know of its tenant, cached together."""

    plan: Plan | None  # the subscribed plan, whatever its payment state
    default: Plan | None
    status: str
    grace_until: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    spend_cap_cents: int | None
    slug: str


# Every prediction reads its tenant's subscription: kept per process for SERVING_LOOKUP_TTL_S, and cleared
# when a plan or a subscription changes (billing's AppConfig watches both).
_cache: lookups.LookupCache[Billing] = lookups.LookupCache()


def default_plan() -> Plan | None:
    return Plan.objects.filter(is_default=True).first()


def _load(tenant_id: UUID | str) -> Billing:
    subscription = Subscription.objects.for_tenant(tenant_id).select_related("plan", "tenant").first()
    default = default_plan()
    if subscription is None:
        slug = Tenant.objects.filter(pk=tenant_id).values_list("slug", flat=True).first() or ""
        return Billing(default, default, SubscriptionStatus.ACTIVE, None, None, None, None, slug)
    return Billing(
        plan=subscription.plan,
        default=default,
        status=subscription.status,
        grace_until=subscription.grace_until,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        spend_cap_cents=subscription.spend_cap_cents,
        slug=subscription.tenant.slug,
    )


def billing_of(*, tenant_id: UUID | str) -> Billing:
    found = _cache.get(str(tenant_id), lambda: _load(tenant_id))
    assert found is not None
    return found


def plan_of(*, tenant_id: UUID | str) -> Plan | None:
    """The plan whose limits apply now: the subscribed one; the default plan once a past-due subscription's
    grace period is over (or when the tenant has no subscription)."""
    billing = billing_of(tenant_id=tenant_id)
    if billing.status == SubscriptionStatus.PAST_DUE and billing.grace_until and billing.grace_until <= timezone.now():
        return billing.default or billing.plan
    return billing.plan


def limit_of(*, tenant_id: UUID | str, name: str) -> Any:
    """A limit of the tenant's plan (``LIMIT_SETTINGS``), or its setting when the plan leaves it empty."""
    plan = plan_of(tenant_id=tenant_id)
    value = getattr(plan, name) if plan is not None else None
    return value if value is not None else getattr(settings, LIMIT_SETTINGS[name])


def period_of(*, tenant_id: UUID | str, at: datetime | None = None) -> Period:
    """The billing period holding ``at`` (now): the Stripe subscription's, else the calendar month (UTC)."""
    at = at or timezone.now()
    billing = billing_of(tenant_id=tenant_id)
    if billing.period_start and billing.period_end and billing.period_start <= at < billing.period_end:
        return Period(billing.period_start, billing.period_end)
    return quotas.calendar_month(at)


def upgrade_url(*, tenant_id: UUID | str) -> str:
    return f"{settings.PUBLIC_URL}/t/{billing_of(tenant_id=tenant_id).slug}/billing/"


def recorded_in(*, tenant_id: UUID | str, period: Period, kinds: list[str]) -> dict[str, int]:
    """Each of ``kinds``' use in the period, summed from the usage records."""
    used = dict.fromkeys(kinds, 0)
    rows = (
        UsageRecord.objects.for_tenant(tenant_id)
        .filter(kind__in=kinds, created_at__gte=period.start, created_at__lt=period.end)
        .values("kind")
        .annotate(total=Sum("quantity"))
    )
    used.update({row["kind"]: int(row["total"]) for row in rows})
    return used


def counters_of(*, tenant_id: UUID | str, period: Period) -> dict[str, int]:
    """Each meter's use in the period: its quota counter where there is one (a tenant under a limit), else
    the sum of its usage records."""
    used = {kind.value: 0 for kind in UsageKind}
    rows = QuotaCounter.objects.for_tenant(tenant_id).filter(period_start=period.start).values_list("kind", "used")
    counted = {kind: int(n) for kind, n in rows}
    used.update(counted)
    missing = [kind for kind in used if kind not in counted]
    if missing:
        used.update(recorded_in(tenant_id=tenant_id, period=period, kinds=missing))
    return used


def meter_limit(*, tenant_id: UUID | str, kind: str, used: dict[str, int] | None = None) -> int | None:
    """The most of ``kind`` this period may use (None: no limit); ``used``: the counters, when read already."""
    plan = plan_of(tenant_id=tenant_id)
    if plan is None:
        return None
    cap = billing_of(tenant_id=tenant_id).spend_cap_cents
    if quotas.overage_price(plan, kind) is not None and cap is None:
        return None  # a paid plan without a cap: nothing to read
    if used is None:
        used = counters_of(tenant_id=tenant_id, period=period_of(tenant_id=tenant_id))
    return quotas.limit_of(plan, kind, used, cap)


def quota_check(*, tenant_id: UUID | str, kind: str, quantity: int) -> None:
    """Raise ``QuotaExceeded`` (402) when ``quantity`` more of ``kind`` would pass the period's limit.

    A check before work starts, so refused work costs nothing; usage is counted (and enforced exactly,
    under concurrency) when the work is recorded (``billing.services.usage_record``)."""
    plan = plan_of(tenant_id=tenant_id)
    if plan is None:
        return
    cap = billing_of(tenant_id=tenant_id).spend_cap_cents
    if quotas.overage_price(plan, kind) is not None and cap is None:
        return
    period = period_of(tenant_id=tenant_id)
    used = counters_of(tenant_id=tenant_id, period=period)
    limit = quotas.limit_of(plan, kind, used, cap)
    if limit is not None and used[kind] + quantity > limit:
        raise quotas.exceeded(
            plan=plan,
            kind=kind,
            used=used[kind],
            asked=quantity,
            limit=limit,
            period=period,
            capped=quotas.overage_price(plan, kind) is not None,
            upgrade_url=upgrade_url(tenant_id=tenant_id),
        )


def quota_remaining(*, tenant_id: UUID | str, kind: str) -> int | None:
    """How much more of ``kind`` fits this period (None: no limit)."""
    used = counters_of(tenant_id=tenant_id, period=period_of(tenant_id=tenant_id))
    limit = meter_limit(tenant_id=tenant_id, kind=kind, used=used)
    return None if limit is None else max(0, limit - used[kind])


# --- usage, as the API, the Billing page and the admin show it ---------------------------------------


@dataclass(frozen=True)
class MeterUsage:
    kind: str
    meter: str  # "predictions", "training"
    unit: str  # "text", "second"
    included: int
    used: int
    remaining: int | None  # None: no limit
    limit: int | None
    overage: int
    overage_cents: int

    @property
    def percent(self) -> int:
        """Use against the limit (or the included amount on a plan that goes on), for a bar."""
        bound = self.limit if self.limit is not None else self.included
        return 100 if bound <= 0 and self.used else (min(100, round(100 * self.used / bound)) if bound else 0)


@dataclass(frozen=True)
class UsageSummary:
    plan: Plan | None
    subscribed_plan: Plan | None
    status: str
    grace_until: datetime | None
    period: Period
    meters: list[MeterUsage]
    base_cents: int
    overage_cents: int
    credit_cents: int
    estimated_cents: int
    spend_cap_cents: int | None


def _used_between(tenant_id: UUID | str, start: datetime, end: datetime) -> dict[str, int]:
    used = {kind.value: 0 for kind in UsageKind}
    rows = (
        UsageRecord.objects.for_tenant(tenant_id)
        .filter(created_at__gte=start, created_at__lt=end)
        .values("kind")
        .annotate(total=Sum("quantity"))
    )
    used.update({row["kind"]: int(row["total"]) for row in rows})
    return used


def usage_summary(*, tenant_id: UUID | str) -> UsageSummary:
    """The current period: each meter against its quota, and the bill so far (from the usage records)."""
    billing = billing_of(tenant_id=tenant_id)
    plan = plan_of(tenant_id=tenant_id)
    period = period_of(tenant_id=tenant_id)
    used = _used_between(tenant_id, period.start, period.end)
    meters = []
    for kind in UsageKind:
        limit = None if plan is None else quotas.limit_of(plan, kind, used, billing.spend_cap_cents)
        meters.append(
            MeterUsage(
                kind=kind.value,
                meter=quotas.METER_NAMES[kind],
                unit=quotas.UNITS[kind],
                included=0 if plan is None else quotas.included(plan, kind),
                used=used[kind],
                remaining=None if limit is None else max(0, limit - used[kind]),
                limit=limit,
                overage=0 if plan is None else quotas.overage_of(plan, kind, used[kind]),
                overage_cents=0 if plan is None else round(quotas.overage_cents(plan, kind, used[kind])),
            )
        )
    credit = Subscription.objects.for_tenant(tenant_id).values_list("credit_cents", flat=True).first() or 0
    base = 0 if plan is None else plan.monthly_price_cents
    overage = sum(m.overage_cents for m in meters)
    return UsageSummary(
        plan=plan,
        subscribed_plan=billing.plan,
        status=billing.status,
        grace_until=billing.grace_until,
        period=period,
        meters=meters,
        base_cents=base,
        overage_cents=overage,
        credit_cents=int(credit),
        estimated_cents=max(0, base + overage - int(credit)),
        spend_cap_cents=billing.spend_cap_cents,
    )


def usage_daily(*, tenant_id: UUID | str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Usage per UTC day in [start, end): one row per day with any, each meter's total (0 when none)."""
    rows = (
        UsageRecord.objects.for_tenant(tenant_id)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDay("created_at"))
        .values("day", "kind")
        .annotate(total=Sum("quantity"))
        .order_by("day")
    )
    days: dict[date, dict[str, int]] = {}
    for row in rows:
        day = row["day"].date() if isinstance(row["day"], datetime) else row["day"]
        days.setdefault(day, {kind.value: 0 for kind in UsageKind})[row["kind"]] = int(row["total"])
    return [{"date": day, **totals} for day, totals in sorted(days.items())]


def usage_by_source(*, tenant_id: UUID | str, start: datetime, end: datetime) -> dict[str, int]:
    """Units per source (api, monitor, batch, training) in [start, end)."""
    rows = (
        UsageRecord.objects.for_tenant(tenant_id)
        .filter(created_at__gte=start, created_at__lt=end)
        .values("source")
        .annotate(total=Sum("quantity"))
    )
    return {row["source"]: int(row["total"]) for row in rows}


def notices_of(*, tenant_id: UUID | str, period: Period) -> list[ThresholdNotice]:
    """The warnings sent this period (80 % and 100 % of a limit), newest first."""
    return list(ThresholdNotice.objects.for_tenant(tenant_id).filter(period_start=period.start))


def projects_allowed(*, tenant_id: UUID | str, existing: int) -> None:
    """Raise ``QuotaExceeded`` (402) when the plan allows no project beyond the ``existing`` ones."""
    plan = plan_of(tenant_id=tenant_id)
    if plan is None or plan.max_projects is None or existing < plan.max_projects:
        return
    url = upgrade_url(tenant_id=tenant_id)
    raise quotas.QuotaExceeded(
        f"The {plan.name} plan allows {plan.max_projects} project{'s' if plan.max_projects != 1 else ''}, and "
        f"this organization has {existing}. Delete one, or upgrade your plan at {url}",
        extra={"quota": {"meter": "projects", "limit": plan.max_projects, "used": existing}, "upgrade_url": url},
    )
