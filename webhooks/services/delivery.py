"""Delivery: claim a due delivery, make one signed attempt, record it, retry with backoff or give up."""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tenants import db
from tenants.models import Tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.network import Outcome, UnsafeUrl, check_url, post
from webhooks.signing import sign

logger = logging.getLogger(__name__)

USER_AGENT = "Tunebase-Webhooks/1"
# Waits after the 1st, 2nd, ... failed attempt; attempts past the list wait as long as its last entry.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
RETRY_JITTER = 0.1  # up to 10% either way, so that deliveries failing together do not retry together
# Deliveries in a row that ended failed (every attempt used) before the endpoint is disabled.
DISABLE_AFTER_FAILED_DELIVERIES = 5
# How long a claimed delivery is left alone at least; a worker that dies mid-send frees it (and its
# tenant's slot) after this. Always longer than the longest send (WEBHOOK_TIMEOUT_S) by LEASE_MARGIN.
CLAIM_LEASE = timedelta(minutes=2)
LEASE_MARGIN = timedelta(minutes=1)
# A delivery handed to the broker but not claimed within this long is handed over again.
REQUEUE_AFTER = timedelta(minutes=5)
DUE_BATCH = 500


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after this many failed attempts, with jitter."""
    base = RETRY_DELAYS[min(max(failed_attempts, 1), len(RETRY_DELAYS)) - 1]
    return base * (1 + random.uniform(-RETRY_JITTER, RETRY_JITTER))


def deliveries_due_for_dispatch() -> list[tuple[str, str]]:
    """(tenant_id, delivery_id) of due deliveries nobody holds, marked as handed over; for the beat task.

    Runs in a system context: it looks across tenants. A delivery handed over recently is skipped, so a
    slow queue does not fill with copies of the same delivery.
    """
    now = timezone.now()
    with db.system_context(), transaction.atomic():
        due = list(
            WebhookDelivery.all_tenants.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
            .order_by("next_attempt_at")
            .values_list("tenant_id", "pk")[:DUE_BATCH]
        )
        WebhookDelivery.all_tenants.filter(pk__in=[pk for _, pk in due]).update(enqueued_at=now)
    return [(str(tenant_id), str(pk)) for tenant_id, pk in due]


def claim_lease() -> timedelta:
    """How long a claim holds a delivery: the longest send and a margin, and at least CLAIM_LEASE."""
    return max(CLAIM_LEASE, timedelta(seconds=settings.WEBHOOK_TIMEOUT_S) + LEASE_MARGIN)


@transaction.atomic
def delivery_claim(*, tenant_id: UUID | str, delivery_id: UUID | str) -> WebhookDelivery | None:
    """The delivery, leased to this worker for one attempt, if it is pending and due; else None.

    A tenant has at most ``WEBHOOK_MAX_IN_FLIGHT_PER_TENANT`` deliveries being sent at once: past that,
    the delivery is left pending and handed over again by the periodic sender.
    """
    now = timezone.now()
    # One claim per tenant at a time, so that two workers cannot both take the last free slot.
    Tenant.objects.select_for_update().filter(pk=tenant_id).exists()
    deliveries = WebhookDelivery.objects.for_tenant(tenant_id)
    due = deliveries.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    in_flight = deliveries.filter(status=DeliveryStatus.PENDING, sending_until__gt=now).count()
    if in_flight >= settings.WEBHOOK_MAX_IN_FLIGHT_PER_TENANT:
        if due.update(enqueued_at=None):
            logger.info(
                "webhook delivery %s waits: %d of its tenant's deliveries are being sent", delivery_id, in_flight
            )
        return None
    lease_end = now + claim_lease()
    if due.update(next_attempt_at=lease_end, sending_until=lease_end, attempts=F("attempts") + 1) != 1:
        return None
    return deliveries.select_related("endpoint").get(pk=delivery_id)


def delivery_next_waiting(*, tenant_id: UUID | str) -> str | None:
    """The id of a due delivery of the tenant that nobody holds (one a claim turned away), marked as
    handed over; for a worker whose send just freed a slot."""
    now = timezone.now()
    with transaction.atomic():
        waiting = (
            WebhookDelivery.objects.for_tenant(tenant_id)
            .select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, enqueued_at__isnull=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)
            .first()
        )
        if waiting is None:
            return None
        WebhookDelivery.objects.for_tenant(tenant_id).filter(pk=waiting).update(enqueued_at=now)
    return str(waiting)


def _attempt(delivery: WebhookDelivery) -> Outcome:
    try:
        target = check_url(delivery.endpoint.url)
    except UnsafeUrl as refused:
        return Outcome(None, "", f"Not sent: {refused.message}")
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    timestamp = int(time.time())
    # Right after a rotation, one signature per secret (space-separated), so that either verifies.
    signatures = [
        sign(secret, delivery.event_id, timestamp, body) for secret in delivery.endpoint.signing_secrets(timezone.now())
    ]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
    return post(target, headers, body.encode())


def deliver(delivery: WebhookDelivery) -> str:
    """Make one attempt at a claimed delivery and record how it went. Returns the delivery's status."""
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        outcome = Outcome(None, "", "Not sent: the endpoint is disabled.")
        _record(delivery, outcome, give_up=True)
        return delivery.status
    outcome = _attempt(delivery)
    _record(delivery, outcome, give_up=delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS)
    logger.info(
        "webhook delivery %s of %s to endpoint %s: attempt %d, %s",
        delivery.pk,
        delivery.event_type,
        endpoint.pk,
        delivery.attempts,
        outcome.status_code or outcome.error,
    )
    return delivery.status


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: Outcome, *, give_up: bool) -> None:
    now = timezone.now()
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    delivery.response_excerpt = outcome.excerpt
    delivery.sending_until = None
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif give_up:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.enqueued_at = None
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "enqueued_at",
            "sending_until",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "delivered_at",
        ]
    )
    endpoints = WebhookEndpoint.objects.for_tenant(delivery.tenant_id).filter(pk=delivery.endpoint_id)
    if outcome.ok:
        endpoints.exclude(consecutive_failures=0).update(consecutive_failures=0)
    elif give_up and delivery.endpoint.is_active:
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        _disable_if_failing(delivery.tenant_id, delivery.endpoint_id, outcome.error)


def _disable_if_failing(tenant_id: UUID, endpoint_id: UUID, last_error: str) -> None:
    reason = (
        f"Disabled on {timezone.now():%Y-%m-%d %H:%M} UTC after {DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a "
        f"row failed; the last error was: {last_error}"
    )[:500]
    disabled = (
        WebhookEndpoint.objects.for_tenant(tenant_id)
        .filter(pk=endpoint_id, is_active=True, consecutive_failures__gte=DISABLE_AFTER_FAILED_DELIVERIES)
        .update(is_active=False, disabled_reason=reason)
    )
    if disabled:
        logger.warning("webhook endpoint %s disabled after repeated failed deliveries", endpoint_id)
        WebhookDelivery.objects.for_tenant(tenant_id).filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Not sent: the endpoint was disabled.")
