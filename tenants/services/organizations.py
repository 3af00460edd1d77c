"""Organizations: create one (its owner's membership with it), suspend or reactivate it, delete it."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.text import slugify

from tenants import db, lookups, signals
from tenants.errors import Conflict, InvalidInput
from tenants.models import (
    AuditAction,
    Membership,
    Role,
    Tenant,
)
from tenants.services.audit import audit_record, label_of
from tenants.services.files import delete_with_files
from tenants.storage import tenant_file_path

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
_MAX_PROTECTED_ROUNDS = 5

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


def _delete_protecting_rows(tenant: Tenant, error: ProtectedError) -> None:
    """Delete the tenant's rows that block the delete of its other rows (usage records pointing at the
    meter events that carried them); a row of anyone else stops everything."""
    by_model: dict[type[Model], list[Any]] = defaultdict(list)
    for row in error.protected_objects:
        if getattr(row, "tenant_id", None) != tenant.pk:
            raise error
        by_model[type(row)].append(row.pk)
    for model, ids in by_model.items():
        model.objects.for_tenant(tenant).filter(pk__in=ids).delete()  # type: ignore[attr-defined]


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor: User | None, confirm_name: str | None = None) -> None:
    """Delete an organization with all its rows; once that commits, a task deletes every stored file
    under ``tenants/<id>/`` and the local copies of its models. Its audit log goes with it, so the
    deletion is written to the application log. ``confirm_name``, when given, must be its name."""
    if confirm_name is not None and confirm_name.strip() != tenant.name:
        raise InvalidInput("Type the name of the organization exactly to confirm.", field="confirm")
    tenant_id = tenant.pk
    with db.tenant_context(tenant_id):
        signals.tenant_deleting.send(sender=Tenant, tenant=tenant)
        for _ in range(_MAX_PROTECTED_ROUNDS):
            try:
                delete_with_files(tenant, prefixes=[tenant_file_path(tenant_id)])
                break
            except ProtectedError as error:  # its own rows protecting others of its rows: those first
                _delete_protecting_rows(tenant, error)
        else:
            raise Conflict("The organization's data could not be deleted in order; nothing was deleted.")
    lookups.changed()
    line = (tenant_id, tenant.slug, tenant.name, label_of(actor))
    transaction.on_commit(lambda: logger.info("tenant.deleted tenant_id=%s slug=%s name=%r by=%s", *line))
