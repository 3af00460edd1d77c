"""Billing's part of a tenant's data export: its usage records as one CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from billing.models import UsageRecord
from tenants.export import ExportArchive
from tenants.models import Tenant

USAGE_COLUMNS = ("date", "kind", "source", "quantity", "project")


def _rows(tenant: Tenant) -> Iterator[tuple[Any, ...]]:
    records = (
        UsageRecord.objects.for_tenant(tenant)
        .order_by("created_at", "id")
        .values_list("created_at", "kind", "source", "quantity", "project__name")
    )
    for created_at, kind, source, quantity, project in records.iterator(chunk_size=2000):
        yield created_at.isoformat(), kind, source, quantity, project or ""


def write_usage(tenant: Tenant, archive: ExportArchive) -> None:
    archive.add_csv(
        "usage.csv", USAGE_COLUMNS, _rows(tenant), description="Usage records: date (UTC), meter, source, quantity."
    )


def summarize_usage(tenant: Tenant) -> str:
    return f"{UsageRecord.objects.for_tenant(tenant).count()} usage records"
