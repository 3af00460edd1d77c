"""Registering, changing and deleting endpoints, rotating their secrets, and sending one a test event."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.errors import Conflict, InvalidInput, NotFound, ServiceError
from webhooks.models import (
    ALL_EVENTS,
    SUBSCRIBABLE_EVENTS,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    generate_secret,
)
from webhooks.network import check_url
from webhooks.services.events import create_deliveries

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tenants.models import Tenant


MAX_ENDPOINTS_PER_TENANT = 20


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidInput('events must be a non-empty list of event types, or ["*"] for all.', field="events")
    unknown = sorted({e for e in events if e != ALL_EVENTS and e not in SUBSCRIBABLE_EVENTS})
    if unknown:
        raise InvalidInput(
            f"Unknown event type(s) {', '.join(unknown)}; use any of {', '.join(SUBSCRIBABLE_EVENTS)}, or *.",
            field="events",
        )
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return sorted(set(events))


@transaction.atomic
def endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    events: list[str],
    description: str = "",
    created_by: User | None = None,
) -> WebhookEndpoint:
    check_url(url)
    cleaned = _clean_events(events)
    if WebhookEndpoint.objects.for_tenant(tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise Conflict(f"An organization may have at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints.")
    return WebhookEndpoint.objects.for_tenant(tenant).create(
        tenant=tenant,
        url=url.strip(),
        events=cleaned,
        description=description[:200],
        created_by=created_by,
    )


@transaction.atomic
def endpoint_update(
    *,
    tenant: Tenant,
    endpoint_id: UUID | str,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    if url is not None:
        check_url(url)
        endpoint.url = url.strip()
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = description[:200]
    if is_active is True and not endpoint.is_active:
        endpoint.is_active = True
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
    elif is_active is False and endpoint.is_active:
        endpoint.is_active = False
        endpoint.disabled_reason = "Disabled by the organization."
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, tenant: Tenant, endpoint_id: UUID | str) -> None:
    deleted, _ = WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFound("No such webhook endpoint.")


class TooManyTestEvents(ServiceError):
    """The endpoint was sent its share of test events this minute; ``retry_after_s`` until the next."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, extra={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


TEST_EVENT_WINDOW = timedelta(minutes=1)


def _check_test_event_rate(tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    now = timezone.now()
    limit = settings.WEBHOOK_TEST_EVENTS_PER_MINUTE
    recent = list(
        WebhookDelivery.objects.for_tenant(tenant)
        .filter(endpoint=endpoint, event_type=EventType.WEBHOOK_TEST, created_at__gt=now - TEST_EVENT_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        wait = max(1, math.ceil((recent[-1] + TEST_EVENT_WINDOW - now).total_seconds()))
        raise TooManyTestEvents(
            f"This endpoint was sent {limit} test events in the last minute; try again in {wait} s.",
            retry_after_s=wait,
        )


@transaction.atomic
def send_test_event(*, tenant: Tenant, endpoint_id: UUID | str) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for the endpoint; at most ``WEBHOOK_TEST_EVENTS_PER_MINUTE`` a minute."""
    # Locked: two requests at once count each other.
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    if not endpoint.is_active:
        raise Conflict("The endpoint is disabled; enable it before sending it a test event.")
    _check_test_event_rate(tenant, endpoint)
    data = {"message": "A test event from Tunebase.", "endpoint_id": str(endpoint.pk)}
    [delivery] = create_deliveries(tenant, [endpoint], EventType.WEBHOOK_TEST, data)
    return delivery


@transaction.atomic
def endpoint_rotate_secret(*, tenant: Tenant, endpoint_id: UUID | str) -> WebhookEndpoint:
    """A new signing secret; deliveries carry the old one's signature too for ``WEBHOOK_SECRET_OVERLAP_H``.

    Rotating again during an overlap ends the older secret's overlap at once: only the two newest sign.
    """
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_H)
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint
