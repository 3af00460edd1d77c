"""Writes of the webhooks app: endpoints (register, change, delete, rotate, test), events, deliveries."""

from webhooks.services.delivery import (
    deliver,
    deliveries_due_for_dispatch,
    delivery_claim,
    delivery_next_waiting,
    retry_delay,
)
from webhooks.services.endpoints import (
    TooManyTestEvents,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
    send_test_event,
)
from webhooks.services.events import emit_event, new_event_id

__all__ = [
    "TooManyTestEvents",
    "deliver",
    "deliveries_due_for_dispatch",
    "delivery_claim",
    "delivery_next_waiting",
    "emit_event",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_rotate_secret",
    "endpoint_update",
    "new_event_id",
    "retry_delay",
    "send_test_event",
]
