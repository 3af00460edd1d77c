"""Usage to Stripe: unsent usage records, summed per tenant, meter and UTC day, sent as meter events.

Exactly once: records are bound to a ``MeterPush`` and committed before anything is sent, and the push's
identifier (also its idempotency key) never changes, so a resend after an error or a crash after Stripe's
answer is deduplicated by Stripe. Stripe holds both for at least 24 h, so retries must come within 24 h:
the backoff is capped at 6 h and a send cut short is due again after ``SEND_LEASE``, while the task runs.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing import stripe_api
from billing.models import MeterPush, Subscription, UsageRecord

logger = logging.getLogger(__name__)

GROUP_BATCH = 5_000  # records bound to new pushes per call; the rest go next time
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
SEND_LEASE = timedelta(minutes=10)  # a push being sent is not due for another sender until then
MAX_AGE = timedelta(days=35) - timedelta(hours=1)  # Stripe refuses meter events older than 35 days
_CHUNK = 500

_Key = tuple[UUID, str, date]  # tenant, meter, UTC day
_Row = tuple[UUID, int, datetime]  # a record's id, quantity, created_at


def usage_push_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Settle, group and send unsent usage: at most ``limit`` meter events per call; nothing with Stripe off."""
    counts = {"settled": 0, "grouped": 0, "sent": 0, "failed": 0}
    if not stripe_api.enabled():
        return counts
    now = now or timezone.now()
    counts["settled"] = _settle(now)
    counts["grouped"] = _group(now)
    counts["sent"], counts["failed"] = _send_due(now, limit)
    return counts


def usage_resend(*, push_ids: Iterable[UUID]) -> int:
    """Make these unsent pushes due now (the admin's "resend"); returns how many were."""
    return MeterPush.all_tenants.filter(pk__in=list(push_ids), sent_at__isnull=True).update(next_attempt_at=None)


def _customers() -> Q:
    return Q(tenant_id__in=Subscription.all_tenants.exclude(stripe_customer_id="").values("tenant_id"))


def _settle(now: datetime) -> int:
    """Records of tenants without a Stripe customer (never on a paid plan): nothing to bill at Stripe."""
    unsent = UsageRecord.all_tenants.filter(sent_at__isnull=True, push__isnull=True)
    return unsent.exclude(_customers()).update(sent_at=now)


def _group(now: datetime) -> int:
    """Bind unsent records to new pushes, one per tenant, meter and UTC day; committed before any send."""
    with transaction.atomic():
        rows = list(
            UsageRecord.all_tenants.select_for_update(skip_locked=True)
            .filter(_customers(), sent_at__isnull=True, push__isnull=True)
            .order_by("created_at")
            .values_list("pk", "tenant_id", "kind", "quantity", "created_at")[:GROUP_BATCH]
        )
        groups: dict[_Key, list[_Row]] = defaultdict(list)
        for pk, tenant_id, kind, quantity, created_at in rows:
            groups[(tenant_id, kind, created_at.astimezone(UTC).date())].append((pk, quantity, created_at))
        customers = dict(
            Subscription.all_tenants.filter(tenant_id__in={key[0] for key in groups}).values_list(
                "tenant_id", "stripe_customer_id"
            )
        )
        for key, group in groups.items():
            _push_create(key, group, customers[key[0]], now)
    return len(groups)


def _push_create(key: _Key, rows: list[_Row], customer: str, now: datetime) -> None:
    tenant_id, kind, day = key
    latest = max(created_at for _, _, created_at in rows)
    push = MeterPush.all_tenants.create(
        tenant_id=tenant_id,
        kind=kind,
        day=day,
        quantity=sum(quantity for _, quantity, _ in rows),
        timestamp=min(max(latest, now - MAX_AGE), now),
        stripe_customer_id=customer,
    )
    pks = [pk for pk, _, _ in rows]
    for start in range(0, len(pks), _CHUNK):
        UsageRecord.all_tenants.filter(pk__in=pks[start : start + _CHUNK]).update(push=push)


def _send_due(now: datetime, limit: int) -> tuple[int, int]:
    """Send due pushes, oldest first; after a rate limit or a connection failure, the rest wait."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    pushes = list(MeterPush.all_tenants.filter(due, sent_at__isnull=True).order_by("created_at")[:limit])
    client = stripe_api.client()
    sent = failed = 0
    for push in pushes:
        # Claimed for a lease: another sender skips it, and a send cut short is due again after it.
        claimed = MeterPush.all_tenants.filter(due, pk=push.pk, sent_at__isnull=True)
        if not claimed.update(next_attempt_at=now + SEND_LEASE):
            continue
        try:
            _send(client, push)
        except stripe.StripeError as error:
            failed += 1
            _retry_later(push, error, now)
            if isinstance(error, stripe.RateLimitError | stripe.APIConnectionError):
                break
            continue
        _mark_sent(push, now)
        sent += 1
    return sent, failed


def _send(client: stripe.StripeClient, push: MeterPush) -> None:
    try:
        client.v1.billing.meter_events.create(
            {
                "event_name": settings.STRIPE_METER_EVENTS[push.kind],
                "payload": {"stripe_customer_id": push.stripe_customer_id, "value": str(push.quantity)},
                "identifier": push.identifier,
                "timestamp": int(push.timestamp.timestamp()),
            },
            {"idempotency_key": push.identifier},
        )
    except stripe.InvalidRequestError as error:
        if error.code != "resource_already_exists" or error.param != "identifier":
            raise
        logger.info("meter push %s: Stripe already has this event", push.pk)


def _mark_sent(push: MeterPush, now: datetime) -> None:
    with transaction.atomic():
        MeterPush.all_tenants.filter(pk=push.pk, sent_at__isnull=True).update(sent_at=now, next_attempt_at=None)
        UsageRecord.all_tenants.filter(push_id=push.pk, sent_at__isnull=True).update(sent_at=now)


def retry_delay(attempts: int) -> timedelta:
    """The wait after this many failed attempts: 1 min doubling, at most 6 h, a little jitter below."""
    delay = min(FIRST_RETRY * 2 ** min(attempts - 1, 16), MAX_RETRY)
    return delay * random.uniform(0.9, 1.0)


def _retry_later(push: MeterPush, error: stripe.StripeError, now: datetime) -> None:
    attempts = push.attempts + 1
    next_attempt_at = now + retry_delay(attempts)
    text = f"{type(error).__name__}: {error.user_message or error}"[:500]
    MeterPush.all_tenants.filter(pk=push.pk, sent_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=text, next_attempt_at=next_attempt_at
    )
    logger.warning("meter push %s failed (attempt %d), next at %s: %s", push.pk, attempts, next_attempt_at, text)
