"""What a training run is likely to take and cost, shown before it starts.

The time is a rough figure (rows x epochs at ``TRAINING_ESTIMATE_SAMPLES_PER_S``); the cost is the overage
that time would add on top of this period's training so far. A run that starts always runs to its end, so
the estimate warns rather than refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings

from billing import quotas, selectors
from billing.models import Plan, UsageKind

TRAINING = UsageKind.TRAINING_SECONDS


@dataclass(frozen=True)
class TrainingEstimate:
    minutes: float
    cost_cents: int  # the overage the run would add (0 within the included minutes or on a plan without overage)
    within_included: bool
    remaining_minutes: float | None  # the plan's included minutes left this period; None: no plan
    message: str


def _minutes_text(minutes: float) -> str:
    shown = f"{minutes:,.0f}" if minutes == int(minutes) else f"{minutes:,.1f}"
    return f"{shown} minute{'' if shown == '1' else 's'}"


def _about(seconds: int) -> str:
    return f"About {_minutes_text(max(1, round(seconds / 60)))} of training"


def _message(plan: Plan, seconds: int, left: int, cost_cents: int, period_end: str) -> str:
    about = _about(seconds)
    remaining = _minutes_text(left / 60)
    if seconds <= left:
        return f"{about}; within your plan's remaining {remaining}."
    price = plan.training_overage_cents_per_minute
    if price is None:
        if left <= 0:
            return f"Your {plan.name} plan's training minutes for this period are used up; upgrade to train."
        return (
            f"{about}; more than the {remaining} left on your {plan.name} plan: the run finishes, but no new "
            f"run starts until {period_end}. Upgrade for more training minutes."
        )
    overage = f"about ${cost_cents / 100:,.2f} of overage at ${price / 100:,.2f} a minute"
    if left > 0:
        return f"{about}; the first {remaining} are within your plan, then {overage}."
    return f"{about}; {overage}."


def _cap_note(plan: Plan, used: dict[str, int], seconds: int, cap_cents: int | None) -> str:
    """A spend cap the run would reach: it finishes, but no run starts after it."""
    if cap_cents is None or plan.training_overage_cents_per_minute is None:
        return ""
    limit = quotas.limit_of(plan, TRAINING, used, cap_cents)
    if limit is None or used[TRAINING] + seconds <= limit:
        return ""
    if used[TRAINING] >= limit:
        return " Your spend cap is reached: raise it to train."
    return " This takes the period past your spend cap: no run starts after it until you raise the cap."


def training_estimate(*, tenant_id: UUID | str, rows: int, epochs: int) -> TrainingEstimate:
    """How long training ``rows`` examples for ``epochs`` epochs should take, and what it would add to the bill."""
    seconds = max(60, math.ceil(max(0, rows) * max(1, epochs) / settings.TRAINING_ESTIMATE_SAMPLES_PER_S))
    plan = selectors.plan_of(tenant_id=tenant_id)
    if plan is None:
        return TrainingEstimate(seconds / 60, 0, True, None, f"{_about(seconds)}.")
    period = selectors.period_of(tenant_id=tenant_id)
    used = selectors.counters_of(tenant_id=tenant_id, period=period)
    included = quotas.included(plan, TRAINING)
    left = max(0, included - used[TRAINING])
    price = quotas.overage_price(plan, TRAINING)
    cost_cents = 0 if price is None else round(max(0, seconds - left) * price)
    message = _message(plan, seconds, left, cost_cents, period.end.date().isoformat())
    message += _cap_note(plan, used, seconds, selectors.billing_of(tenant_id=tenant_id).spend_cap_cents)
    return TrainingEstimate(
        minutes=seconds / 60,
        cost_cents=cost_cents,
        within_included=seconds <= left,
        remaining_minutes=left / 60,
        message=message,
    )
