"""Writes for billing: ``usage`` (a usage record in the caller's transaction)."""

from billing.services.usage import usage_record

__all__ = ["usage_record"]
