"""The audit log: every service records what it did, in its own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tenants.models import (
    AuditAction,
    AuditEvent,
    Tenant,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def label_of(user: User | None) -> str:
    if user is None:
        return "system"
    return str(getattr(user, "email", "") or user.get_username())


def audit_record(
    *,
    tenant: Tenant | UUID,
    action: AuditAction,
    actor: User | None = None,
    actor_label: str | None = None,
    target_label: str = "",
    ip_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    return AuditEvent.all_tenants.create(
        tenant_id=getattr(tenant, "pk", tenant),
        actor=actor,
        actor_label=actor_label or label_of(actor),
        action=action,
        target_label=target_label[:200],
        ip_address=ip_address,
        details=details,
    )
