"""Writing usage: called inside the transaction of the work being billed."""

from __future__ import annotations

from typing import Any

from billing.models import UsageRecord


def usage_record(*, tenant_id: Any, kind: str, quantity: int, **links: Any) -> UsageRecord:
    """One billable event (``links``: project, model_version, api_key). Nothing is sent from here."""
    if quantity <= 0:
        raise ValueError("usage quantity must be positive")
    return UsageRecord.all_tenants.create(tenant_id=tenant_id, kind=kind, quantity=quantity, **links)
