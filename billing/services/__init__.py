"""Writes for billing: ``usage`` (a usage record in the caller's transaction, counted against the quota),
``subscriptions`` (a tenant's plan and spend cap), ``meter_push`` and ``reconcile`` (usage to Stripe and
back), ``checkout`` (Stripe customer, Checkout, Portal, operator credit and plan changes) and
``stripe_events`` (Stripe's webhooks)."""

from billing.services.subscriptions import spend_cap_set, subscription_start
from billing.services.usage import usage_record

__all__ = ["spend_cap_set", "subscription_start", "usage_record"]
