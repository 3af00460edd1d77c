"""Writes for billing: ``usage`` (a usage record in the caller's transaction), ``subscriptions`` (a tenant's
plan)."""

from billing.services.subscriptions import subscription_start
from billing.services.usage import usage_record

__all__ = ["subscription_start", "usage_record"]
