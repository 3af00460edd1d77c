"""Registering, changing and deleting endpoints, and sending one a test event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction

from tenants.errors import Conflict, InvalidInput, NotFound
from webhooks.models import ALL_EVENTS, SUBSCRIBABLE_EVENTS, EventType, WebhookDelivery, WebhookEndpoint
from webhooks.network import check_url
from webhooks.selectors import endpoint_get
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


@transaction.atomic
def send_test_event(*, tenant: Tenant, endpoint_id: UUID | str) -> WebhookDelivery:
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    if not endpoint.is_active:
        raise Conflict("The endpoint is disabled; enable it before sending it a test event.")
    data = {"message": "A test event from Tunebase.", "endpoint_id": str(endpoint.pk)}
    [delivery] = create_deliveries(tenant, [endpoint], EventType.WEBHOOK_TEST, data)
    return delivery
