"""Writes for projects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import IntegrityError, transaction

from billing.selectors import projects_allowed
from projects.models import Dataset, Project
from tenants.errors import Conflict, NotFound
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_revoke
from tenants.services.files import delete_with_files
from tenants.storage import tenant_file_path

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EDITABLE_FIELDS = ("name", "description", "use_case", "multi_label", "confidence_threshold", "review_low_confidence")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A project named {name!r} already exists in this organization.", field="name")


def _ensure_unique_name(*, tenant: Tenant, name: str, exclude: UUID | None = None) -> None:
    clash = Project.objects.for_tenant(tenant).filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise _name_taken(name)


@transaction.atomic
def project_create(*, tenant: Tenant, created_by: User | None = None, **fields: Any) -> Project:
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    fields["name"] = fields["name"].strip()
    _ensure_unique_name(tenant=tenant, name=fields["name"])
    projects_allowed(tenant_id=tenant.pk, existing=Project.objects.for_tenant(tenant).count())
    try:
        with transaction.atomic():  # a concurrent create of the same name loses at the unique index
            return Project.all_tenants.create(tenant=tenant, created_by=created_by, **fields)
    except IntegrityError:
        raise _name_taken(fields["name"]) from None


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
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise _name_taken(project.name) from None
    return project


@transaction.atomic
def project_delete(*, tenant: Tenant, project_id: UUID, actor: User | None = None) -> None:
    """Delete a project and, once that commits, every file of it: its folder in storage (datasets, models,
    batch files) and the local copies of its models and checkpoints. Keys limited to it are revoked
    (audited) and go with it."""
    project = Project.objects.for_tenant(tenant).filter(pk=project_id).first()
    if project is None:
        raise NotFound("No such project.")
    for key in ApiKey.objects.for_tenant(tenant).filter(project=project, revoked=False):
        api_key_revoke(tenant=tenant, public_id=key.public_id, actor=actor)
    files = list(Dataset.objects.for_tenant(tenant).filter(project=project).values_list("file", flat=True))
    delete_with_files(project, paths=files, prefixes=[tenant_file_path(tenant.pk, "projects", str(project.pk))])
