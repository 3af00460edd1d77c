"""Webhook tasks: thin; the work is in webhooks.services. Their names are kept from before the app moved
out of tenants, so that messages already queued still find them."""

from __future__ import annotations

from celery import shared_task

from tenants import db
from webhooks.services import deliver, deliveries_due_for_dispatch, delivery_claim


@shared_task(name="tenants.tasks.deliver_webhook", queue="default")
def deliver_webhook(*, tenant_id: str, delivery_id: str) -> str:
    """One attempt at a delivery, if it is still pending and due. Running it twice sends once."""
    with db.tenant_context(tenant_id):
        delivery = delivery_claim(tenant_id=tenant_id, delivery_id=delivery_id)
        if delivery is None:
            return "not claimed"
        return deliver(delivery)


@shared_task(name="tenants.tasks.deliver_due_webhooks", queue="default")
def deliver_due_webhooks() -> int:
    """Hand over due deliveries: retries whose wait is over, and any whose hand-over got lost."""
    due = deliveries_due_for_dispatch()
    for tenant_id, delivery_id in due:
        deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
    return len(due)
