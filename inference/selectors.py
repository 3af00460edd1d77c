"""Reads for serving."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from inference.models import Monitor
from projects.models import Project
from tenants import lookups
from tenants.errors import Conflict
from tenants.models import Tenant
from training.models import ModelVersion

_served: lookups.LookupCache[ModelVersion] = lookups.LookupCache()


def active_version(*, project: Project) -> ModelVersion | None:
    """The version the project serves now, read from the database (the dashboard's and batch jobs' way)."""
    return ModelVersion.objects.for_tenant(project.tenant_id).filter(project=project, is_active=True).first()


def deployed_version(project: Project) -> ModelVersion:
    """The active version, or the 409 that says there is none yet."""
    version = active_version(project=project)
    if version is None:
        raise Conflict(
            "This project has no deployed model yet: train one and deploy a version first.", code="no_model_deployed"
        )
    return version


def served_version(
    *, tenant_id: UUID | str, project_id: UUID | str, key_project_id: UUID | str | None = None
) -> ModelVersion | None:
    """The active version of a project with the project itself, in one query (the predict hot path).

    None when the project has no active version, does not exist, or is outside the key's project.
    """
    if key_project_id is not None and str(key_project_id) != str(project_id):
        return None

    def load() -> ModelVersion | None:
        # Not the evaluation report: with a confusion matrix it is the bulk of the row, decoded for nothing.
        versions = ModelVersion.objects.for_tenant(tenant_id).select_related("project").defer("metrics")
        return versions.filter(project_id=project_id, is_active=True).order_by().first()

    # Reused for a moment (tenants.lookups): a deploy shows here at once, on other processes within seconds.
    return _served.get((str(tenant_id), str(project_id)), load)


def monitors_of(*, tenant: Tenant, project: Project) -> QuerySet[Monitor]:
    return Monitor.objects.for_tenant(tenant).filter(project=project)
