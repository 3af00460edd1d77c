"""Where a tenant's files live in storage: always under ``tenants/<tenant-uuid>/``."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings


def tenant_file_path(tenant_id: UUID | str, *parts: str) -> str:
    """``tenants/<uuid>/<parts...>``; refuses parts that could climb out of the tenant's folder."""
    tenant = str(UUID(str(tenant_id)))
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise ValueError(f"Unsafe path component {part!r} for a tenant file.")
    return "/".join([settings.TENANT_STORAGE_PREFIX, tenant, *parts])
