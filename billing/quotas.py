"""Quotas and prices: what a plan lets a tenant use in a billing period, and what that use costs.

Pure arithmetic over a plan, a subscription's spend cap and the period's counters; no queries. The
meters count texts predicted (``prediction``) and training compute seconds (``training_seconds``).
A plan without an overage price (Free) stops at its included amount; a paid plan goes on and bills
overage, unless the tenant set a spend cap: then each meter stops where the period's estimated bill
would pass the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from billing.models import Plan, UsageKind
from tenants.errors import ServiceError

METER_NAMES = {UsageKind.PREDICTION: "predictions", UsageKind.TRAINING_SECONDS: "training"}
UNITS = {UsageKind.PREDICTION: "text", UsageKind.TRAINING_SECONDS: "second"}
THRESHOLD_LEVELS = (80, 100)


class QuotaExceeded(ServiceError):
    """402: the work would take a meter past the plan's included amount (or the spend cap)."""

    status = 402
    code = "quota_exceeded"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def calendar_month(at: datetime) -> Period:
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return Period(start, end)


def included(plan: Plan, kind: str) -> int:
    """The plan's included amount of a meter, in the meter's unit."""
    if kind == UsageKind.PREDICTION:
        return int(plan.included_predictions)
    return int(plan.included_training_minutes) * 60


def overage_price(plan: Plan, kind: str) -> float | None:
    """Cents per unit past the included amount; None: the plan has no overage (it stops)."""
    if kind == UsageKind.PREDICTION:
        price = plan.prediction_overage_cents_per_1000
        return None if price is None else price / 1000
    price = plan.training_overage_cents_per_minute
    return None if price is None else price / 60


def overage_of(plan: Plan, kind: str, used: int) -> int:
    return max(0, used - included(plan, kind))


def overage_cents(plan: Plan, kind: str, used: int) -> float:
    price = overage_price(plan, kind)
    return 0.0 if price is None else overage_of(plan, kind, used) * price


def estimated_cents(plan: Plan, used: dict[str, int]) -> int:
    """The period's bill so far: the plan's price and every meter's overage, rounded to a cent."""
    return round(plan.monthly_price_cents + sum(overage_cents(plan, kind, n) for kind, n in used.items()))


def limit_of(plan: Plan, kind: str, used: dict[str, int], spend_cap_cents: int | None) -> int | None:
    """The most of a meter the period may use (None: no limit): the included amount on a plan without
    overage; on a paid plan with a spend cap, the amount whose overage keeps the estimated bill within it."""
    price = overage_price(plan, kind)
    if price is None:
        return included(plan, kind)
    if spend_cap_cents is None:
        return None
    others = sum(overage_cents(plan, other, n) for other, n in used.items() if other != kind)
    budget = spend_cap_cents - plan.monthly_price_cents - others
    if budget <= 0 or price <= 0:
        return included(plan, kind) if budget <= 0 else None
    return included(plan, kind) + math.floor(budget / price)


def describe(kind: str, amount: int) -> str:
    """An amount of a meter as a person reads it: "2,000 predictions", "30 training minutes"."""
    if kind == UsageKind.PREDICTION:
        return f"{amount:,} prediction{'s' if amount != 1 else ''}"
    minutes = amount / 60
    shown = f"{minutes:,.0f}" if minutes == int(minutes) else f"{minutes:,.1f}"
    return f"{shown} training minute{'s' if minutes != 1 else ''}"


def exceeded(
    *, plan: Plan, kind: str, used: int, asked: int, limit: int, period: Period, capped: bool, upgrade_url: str
) -> QuotaExceeded:
    """The 402 for asking ``asked`` more of a meter that has used ``used`` of ``limit``."""
    what = "your spend cap allows" if capped else f"the {plan.name} plan includes"
    resets = period.end.date().isoformat()
    needs = f"; this request needs {describe(kind, asked)} more" if kind == UsageKind.PREDICTION else ""
    message = (
        f"Quota exceeded: {what} {describe(kind, limit)} a month, and this organization has used "
        f"{describe(kind, used)} this period{needs}. The quota resets on {resets}. "
        + ("Raise the spend cap" if capped else "Upgrade your plan")
        + f" at {upgrade_url}"
    )
    return QuotaExceeded(
        message,
        code="spend_cap_reached" if capped else "quota_exceeded",
        extra={
            "quota": {
                "meter": METER_NAMES[UsageKind(kind)],
                "unit": UNITS[UsageKind(kind)],
                "limit": limit,
                "used": used,
                "requested": asked,
                "resets_at": period.end.isoformat(),
            },
            "upgrade_url": upgrade_url,
        },
    )
