"""Billing's Celery tasks: thin, each calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tenants import db


@shared_task(name="billing.push_usage", queue="default", ignore_result=True)
def push_usage() -> dict[str, Any]:
    """Send unsent usage to Stripe as meter events (nothing with Stripe off)."""
    from billing.services.meter_push import usage_push_due

    with db.system_context():
        return usage_push_due()


@shared_task(name="billing.reconcile_usage", queue="default", ignore_result=True)
def reconcile_usage(day: str | None = None) -> dict[str, Any]:
    """Compare yesterday's (or ``day``'s, ISO date) totals per tenant and meter with Stripe's."""
    from billing.services.reconcile import usage_reconcile

    with db.system_context():
        return usage_reconcile(day=day)


# A failure (the database away, a bug) leaves the event unprocessed and retries it with backoff; the
# webhook endpoint also re-enqueues any unprocessed event when Stripe delivers it again.
@shared_task(
    name="billing.process_stripe_event",
    queue="default",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def process_stripe_event(event_id: str) -> None:
    """Apply one stored Stripe webhook event (a processed one is left alone)."""
    from billing.services.stripe_events import stripe_event_process

    with db.system_context():
        stripe_event_process(event_id=event_id)
