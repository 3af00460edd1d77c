"""Reading usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from billing.models import UsageRecord


def usage_total(*, tenant: Any, kind: str, since: datetime | None = None) -> int:
    records = UsageRecord.objects.for_tenant(tenant).filter(kind=kind)
    if since is not None:
        records = records.filter(created_at__gte=since)
    return int(records.aggregate(total=Sum("quantity"))["total"] or 0)
