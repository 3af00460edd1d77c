"""Organizations: create one (its owner's membership with it), suspend or reactivate it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.text import slugify

from tenants import db, lookups, signals
from tenants.errors import InvalidInput
from tenants.models import (
    AuditAction,
    Membership,
    Role,
    Tenant,
)
from tenants.services.audit import audit_record, label_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "accounts", "invitations"}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "team"
    if base in _RESERVED_SLUGS:
        base = f"{base}-team"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def tenant_create(*, name: str, owner: User, ip_address: str | None = None, signed_up: bool = False) -> Tenant:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the organization a name.", field="name")
    tenant = Tenant.objects.create(name=name[:120], slug=_unique_slug(name))
    with db.tenant_context(tenant.pk):
        Membership.all_tenants.create(tenant=tenant, user=owner, role=Role.OWNER)
        if signed_up:
            audit_record(
                tenant=tenant,
                action=AuditAction.SIGNED_UP,
                actor=owner,
                target_label=label_of(owner),
                ip_address=ip_address,
            )
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_CREATED,
            actor=owner,
            target_label=tenant.name,
            ip_address=ip_address,
        )
        signals.tenant_created.send(sender=Tenant, tenant=tenant)
    return tenant


@transaction.atomic
def tenant_set_active(*, tenant: Tenant, active: bool, actor: User | None) -> None:
    if tenant.is_active == active:
        return
    Tenant.objects.filter(pk=tenant.pk).update(is_active=active)
    lookups.changed()  # an update() sends no post_save
    tenant.is_active = active
    with db.tenant_context(tenant.pk):
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_REACTIVATED if active else AuditAction.TENANT_SUSPENDED,
            actor=actor,
            target_label=tenant.name,
        )
