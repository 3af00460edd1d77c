"""Events: one pending delivery per subscribed endpoint, written in the caller's transaction and
handed to a worker after it commits."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from tenants.models import Tenant


logger = logging.getLogger(__name__)


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _envelope(event_type: str, data: dict[str, Any], moment: datetime) -> dict[str, Any]:
    return {"type": event_type, "timestamp": _iso(moment), "data": data}


def _enqueue(pairs: Sequence[tuple[str, str]]) -> None:
    from webhooks.tasks import deliver_webhook

    for tenant_id, delivery_id in pairs:
        try:
            deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
        except BrokerError:
            # Nothing is lost: the delivery is in the database and deliver_due_webhooks hands it over later.
            logger.warning("broker unavailable; webhook delivery %s left to the periodic sender", delivery_id)
            return


def create_deliveries(
    tenant: Tenant | UUID | str, endpoints: Sequence[WebhookEndpoint], event_type: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    now = timezone.now()
    event_id = new_event_id()
    payload = _envelope(event_type, data, now)
    deliveries = WebhookDelivery.objects.for_tenant(tenant).bulk_create(
        [
            WebhookDelivery(
                tenant_id=endpoint.tenant_id,
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for endpoint in endpoints
        ]
    )
    if deliveries:
        pairs = [(str(d.tenant_id), str(d.pk)) for d in deliveries]
        transaction.on_commit(partial(_enqueue, pairs))
    return deliveries


@transaction.atomic
def emit_event(*, tenant: Tenant | UUID | str, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event_type`` for every active endpoint of the tenant subscribed to it.

    The deliveries are written in the caller's transaction and sent after it commits; if it rolls
    back, nothing is sent. ``data`` must be JSON-serializable and hold no secrets or customer texts
    the customer did not choose to receive.
    """
    if event_type not in EventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    json.dumps(data)  # fail here, in the caller, not later in a worker
    endpoints = [
        e for e in WebhookEndpoint.objects.for_tenant(tenant).filter(is_active=True) if e.subscribes_to(event_type)
    ]
    return create_deliveries(tenant, endpoints, event_type, data)
