"""Writing usage: called inside the transaction of the work being billed.

Where the tenant's plan sets a limit on the meter (Free's included amounts, a spend cap), the record also
adds to its period's ``QuotaCounter`` in the same transaction, and when the caller enforces the limit the
counter only moves with a conditional update (``used + n <= limit``): of concurrent requests at the edge
of a quota exactly those that fit pass, and the rest roll back with 402. A tenant without a limit (a paid
plan without a cap) keeps no counter, so its predictions do not queue on one row; a counter starts from
the period's records when a limit first applies, and is dropped whenever the subscription or a plan
changes (``counters_reset``), to start again from the records. Crossing 80 % or 100 % of a limit sends one
warning per period: an email to the owners and admins, a ``billing.threshold`` webhook event, and the
dashboard's banner.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing import quotas, selectors
from billing.models import QuotaCounter, ThresholdMeter, ThresholdNotice, UsageKind, UsageRecord
from billing.quotas import Period
from tenants import observability as metrics
from tenants.models import Membership, Role, Tenant
from webhooks.models import EventType
from webhooks.services import emit_event

logger = logging.getLogger(__name__)


def _count(tenant_id: Any, kind: str, period: Period, quantity: int, ceiling: int | None) -> bool:
    """Add ``quantity`` to the period's counter, if it stays within ``ceiling`` (None: always)."""
    counter = QuotaCounter.objects.for_tenant(tenant_id).filter(kind=kind, period_start=period.start)
    fits = counter if ceiling is None else counter.filter(used__lte=ceiling - quantity)
    if fits.update(used=F("used") + quantity):
        return True
    if counter.exists():
        return False  # full
    # No counter yet this period (or dropped at a change): it starts from the records.
    used = selectors.recorded_in(tenant_id=tenant_id, period=period, kinds=[kind])[kind]
    adds = ceiling is None or used + quantity <= ceiling
    try:
        with transaction.atomic():
            QuotaCounter.all_tenants.create(
                tenant_id=tenant_id, kind=kind, period_start=period.start, used=used + (quantity if adds else 0)
            )
    except IntegrityError:  # another request created it just now
        return bool(fits.update(used=F("used") + quantity))
    return adds


def counters_reset(*, tenant_ids: Any = None) -> int:
    """Drop the counters of these tenants (None: all) for the periods still open: their limits may have
    changed, and a counter only counts while a limit applies. The next limited record starts them again
    from the usage records."""
    recent = timezone.now() - timedelta(days=40)  # a period is a month at most
    counters = QuotaCounter.all_tenants.filter(period_start__gte=recent)
    if tenant_ids is not None:
        counters = counters.filter(tenant_id__in=tenant_ids)
    return int(counters.delete()[0])


def usage_record(
    *, tenant_id: Any, kind: str, quantity: int, source: str, enforce: bool = False, **links: Any
) -> UsageRecord:
    """One billable event (``links``: project, model_version, api_key, training_run). Nothing is sent from
    here. ``enforce``: raise ``QuotaExceeded`` (402) rather than pass the period's limit."""
    if quantity <= 0:
        raise ValueError("usage quantity must be positive")
    period = selectors.period_of(tenant_id=tenant_id)
    limit = selectors.meter_limit(tenant_id=tenant_id, kind=kind)
    if limit is not None and not _count(tenant_id, kind, period, quantity, limit if enforce else None):
        selectors.quota_check(tenant_id=tenant_id, kind=kind, quantity=quantity)  # raises, with the numbers
        raise quotas.QuotaExceeded("Quota exceeded.")  # the counter moved back in between: still refuse
    record = UsageRecord.all_tenants.create(tenant_id=tenant_id, kind=kind, quantity=quantity, source=source, **links)
    if kind == UsageKind.PREDICTION:  # counted for /metrics once the texts are billed for good
        transaction.on_commit(lambda: metrics.predictions_count(source=source, quantity=quantity))
    if limit is not None or selectors.billing_of(tenant_id=tenant_id).spend_cap_cents is not None:
        _warn_on_thresholds(tenant_id, kind, period, quantity, limit)
    return record


def _warn_on_thresholds(tenant_id: Any, kind: str, period: Period, quantity: int, limit: int | None) -> None:
    used = selectors.counters_of(tenant_id=tenant_id, period=period)
    plan = selectors.plan_of(tenant_id=tenant_id)
    if limit is not None and plan is not None and quotas.overage_price(plan, kind) is None:  # a plan that stops
        _warn_if_crossed(tenant_id, kind, period, before=used[kind] - quantity, after=used[kind], limit=limit)
    cap = selectors.billing_of(tenant_id=tenant_id).spend_cap_cents
    if cap is not None and plan is not None and _has_overage(plan):
        before = dict(used, **{kind: used[kind] - quantity})
        _warn_if_crossed(
            tenant_id,
            ThresholdMeter.SPEND,
            period,
            before=quotas.estimated_cents(plan, before),
            after=quotas.estimated_cents(plan, used),
            limit=cap,
        )


def _has_overage(plan: Any) -> bool:
    return any(quotas.overage_price(plan, kind) is not None for kind in quotas.METER_NAMES)


def _warn_if_crossed(tenant_id: Any, meter: str, period: Period, *, before: int, after: int, limit: int) -> None:
    for level in quotas.THRESHOLD_LEVELS:
        mark = limit * level / 100
        if before < mark <= after or (limit == 0 and before == 0 < after and level == 100):
            try:
                with transaction.atomic():
                    notice = ThresholdNotice.all_tenants.create(
                        tenant_id=tenant_id,
                        meter=meter,
                        level=level,
                        period_start=period.start,
                        used=after,
                        limit=limit,
                    )
            except IntegrityError:
                continue  # already warned this period
            _announce(notice, period)


def _limit_text(notice: ThresholdNotice) -> str:
    if notice.meter == ThresholdMeter.SPEND:
        return f"its spend cap of ${notice.limit / 100:,.2f}"
    return f"its {quotas.describe(notice.meter, notice.limit)} for this period"


def _announce(notice: ThresholdNotice, period: Period) -> None:
    """Tell the tenant's webhooks now (in this transaction) and its owners and admins once it commits."""
    meter = notice.meter if notice.meter == ThresholdMeter.SPEND else quotas.METER_NAMES[notice.meter]  # type: ignore[index]
    emit_event(
        tenant=notice.tenant_id,
        event_type=EventType.BILLING_THRESHOLD,
        data={
            "meter": meter,
            "level": notice.level,
            "used": notice.used,
            "limit": notice.limit,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
        },
    )
    transaction.on_commit(lambda: _email(notice.tenant_id, notice, period), robust=True)


def _email(tenant_id: UUID, notice: ThresholdNotice, period: Period) -> None:
    tenant = Tenant.objects.get(pk=tenant_id)
    recipients = list(
        Membership.objects.for_tenant(tenant)
        .filter(role__in=[Role.OWNER, Role.ADMIN])
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    stop = "Billable work stops there until" if notice.level == 100 else "At 100 % billable work stops until"
    send_mail(
        subject=f"{tenant.name} has used {notice.level} % of {_limit_text(notice)}",
        message=(
            f"{tenant.name} has used {notice.level} % of {_limit_text(notice)} "
            f"({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}).\n"
            f"{stop} the period resets on {period.end:%Y-%m-%d}, or you upgrade or raise the cap.\n\n"
            f"Usage and plans: {settings.PUBLIC_URL}/t/{tenant.slug}/billing/\n"
        ),
        from_email=None,
        recipient_list=[r for r in recipients if r],
        fail_silently=True,
    )
