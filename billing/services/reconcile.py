"""Daily reconciliation: the units we sent per tenant, meter and UTC day against Stripe's meter event
summaries for that customer and day, kept as ``Reconciliation`` rows (``drift``: Stripe's minus ours)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import stripe
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from billing import stripe_api
from billing.models import MeterPush, Reconciliation, Subscription, UsageKind

logger = logging.getLogger(__name__)


def usage_reconcile(*, day: str | date | None = None) -> dict[str, int]:
    """Compare ``day`` (default: yesterday, UTC) for every tenant with a Stripe customer and every meter.

    A row whose Stripe side could not be read keeps ``stripes`` empty (unknown). Nothing with Stripe off.
    """
    counts = {"checked": 0, "drifted": 0, "unknown": 0}
    if not stripe_api.enabled():
        return counts
    day = _day(day)
    client = stripe_api.client()
    meters = _meter_ids(client)
    ours = _ours(day)
    start = int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())
    window = (start, start + 86_400)
    customers = Subscription.all_tenants.exclude(stripe_customer_id="").values_list("tenant_id", "stripe_customer_id")
    for tenant_id, customer in customers.order_by("tenant_id"):
        for kind in UsageKind.values:
            meter_id = meters.get(settings.STRIPE_METER_EVENTS.get(kind, ""))
            stripes = _stripes(client, meter_id, customer, window)
            row = _store(tenant_id, kind, day, ours.get((tenant_id, kind), 0), stripes)
            counts["checked"] += 1
            counts["unknown"] += row.stripes is None
            counts["drifted"] += row.drift != 0
    return counts


def _day(day: str | date | None) -> date:
    if day is None:
        return timezone.now().astimezone(UTC).date() - timedelta(days=1)
    return date.fromisoformat(day) if isinstance(day, str) else day


def _meter_ids(client: stripe.StripeClient) -> dict[str, str]:
    """Stripe's active meters by event name; none when Stripe cannot be read (every row unknown)."""
    try:
        meters = client.v1.billing.meters.list({"status": "active"}).auto_paging_iter()
        return {meter.event_name: meter.id for meter in meters}
    except stripe.StripeError as error:
        logger.warning("reconciliation: Stripe's meters could not be listed: %s", error)
        return {}


def _ours(day: date) -> dict[tuple[UUID, str], int]:
    sent = MeterPush.all_tenants.filter(day=day, sent_at__isnull=False)
    totals = sent.order_by().values("tenant_id", "kind").annotate(total=Sum("quantity"))
    return {(row["tenant_id"], row["kind"]): row["total"] for row in totals}


def _stripes(client: stripe.StripeClient, meter_id: str | None, customer: str, window: tuple[int, int]) -> int | None:
    """Stripe's total of a meter for a customer in the window; None when it cannot be read."""
    if meter_id is None:
        logger.warning("reconciliation: no active meter at Stripe for one of STRIPE_METER_EVENTS")
        return None
    params: Any = {"customer": customer, "start_time": window[0], "end_time": window[1], "value_grouping_window": "day"}
    try:
        summaries = client.v1.billing.meters.event_summaries.list(meter_id, params).auto_paging_iter()
        return round(sum(summary.aggregated_value for summary in summaries))
    except stripe.StripeError as error:
        logger.warning("reconciliation: meter %s of %s could not be read: %s", meter_id, customer, error)
        return None


def _store(tenant_id: UUID, kind: str, day: date, ours: int, stripes: int | None) -> Reconciliation:
    drift = 0 if stripes is None else stripes - ours
    row, _ = Reconciliation.all_tenants.update_or_create(
        tenant_id=tenant_id, kind=kind, day=day, defaults={"ours": ours, "stripes": stripes, "drift": drift}
    )
    if drift:
        logger.warning("usage drift: tenant %s, %s on %s: ours %d, Stripe's %d", tenant_id, kind, day, ours, stripes)
    return row
