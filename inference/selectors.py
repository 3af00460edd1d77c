"""Reads for serving."""

from __future__ import annotations

from projects.models import Project
from training.models import ModelVersion


def active_version(*, project: Project) -> ModelVersion | None:
    """The version the project serves now: read per request, so a deploy shows on every process at once."""
    return ModelVersion.objects.for_tenant(project.tenant_id).filter(project=project, is_active=True).first()
