"""Webhook tasks: thin; the work is in webhooks.services. Their names are kept from before the app moved
out of tenants, so that messages already queued still find them. They run on the ``webhooks`` queue: a slow
receiver can hold a webhooks worker, never a default or training one."""

from __future__ import annotations

import logging

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError

from tenants import db
from webhooks.services import deliver, deliveries_due_for_dispatch, delivery_claim, delivery_next_waiting

logger = logging.getLogger(__name__)


@shared_task(name="tenants.tasks.deliver_webhook", queue="webhooks")
def deliver_webhook(*, tenant_id: str, delivery_id: str) -> str:
    """One attempt at a delivery, if it is still pending and due. Running it twice sends once."""
    with db.tenant_context(tenant_id):
        delivery = delivery_claim(tenant_id=tenant_id, delivery_id=delivery_id)
        if delivery is None:
            return "not claimed"
        status = deliver(delivery)
        # The slot this send held is free: hand over one of the tenant's deliveries that waited for it.
        waiting = delivery_next_waiting(tenant_id=tenant_id)
    if waiting is not None:
        try:
            deliver_webhook.delay(tenant_id=tenant_id, delivery_id=waiting)
        except BrokerError:
            logger.warning("broker unavailable; webhook delivery %s left to the periodic sender", waiting)
    return status


@shared_task(name="tenants.tasks.deliver_due_webhooks", queue="webhooks")
def deliver_due_webhooks() -> int:
    """Hand over due deliveries: retries whose wait is over, and any whose hand-over got lost."""
    due = deliveries_due_for_dispatch()
    for tenant_id, delivery_id in due:
        deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
    return len(due)
