"""Writes for projects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from projects.models import Project
from tenants.errors import Conflict, NotFound
from tenants.models import Tenant

EDITABLE_FIELDS = ("name", "description", "use_case", "multi_label", "confidence_threshold")


def _ensure_unique_name(*, tenant: Tenant, name: str, exclude: UUID | None = None) -> None:
    clash = Project.objects.for_tenant(tenant).filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise Conflict(f"A project named {name!r} already exists in this organization.", field="name")


@transaction.atomic
def project_create(*, tenant: Tenant, created_by: AbstractBaseUser | None = None, **fields: Any) -> Project:
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    fields["name"] = fields["name"].strip()
    _ensure_unique_name(tenant=tenant, name=fields["name"])
    return Project.all_tenants.create(tenant=tenant, created_by=created_by, **fields)


@transaction.atomic
def project_update(*, tenant: Tenant, project_id: UUID, **fields: Any) -> Project:
    project = Project.objects.for_tenant(tenant).select_for_update().filter(pk=project_id).first()
    if project is None:
        raise NotFound("No such project.")
    changes = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        _ensure_unique_name(tenant=tenant, name=changes["name"], exclude=project.pk)
    for key, value in changes.items():
        setattr(project, key, value)
    project.save()
    return project


@transaction.atomic
def project_delete(*, tenant: Tenant, project_id: UUID) -> None:
    deleted, _ = Project.objects.for_tenant(tenant).filter(pk=project_id).delete()
    if not deleted:
        raise NotFound("No such project.")
