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


# A Stripe outage must not leave a deleted organization paying: retried with backoff for about a day.
@shared_task(
    name="billing.cancel_stripe_subscription",
    queue="default",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=30,
)
def cancel_stripe_subscription(stripe_subscription_id: str) -> None:
    """Cancel the Stripe subscription of an organization that was deleted."""
    from billing.services.subscriptions import stripe_subscription_cancel

    stripe_subscription_cancel(stripe_subscription_id=stripe_subscription_id)
