"""Reads for projects."""

from __future__ import annotations

from django.db.models import QuerySet

from projects.models import Project
from tenants.models import Tenant


def projects_of(*, tenant: Tenant) -> QuerySet[Project]:
    return Project.objects.for_tenant(tenant).order_by("name")


def project_of(*, tenant: Tenant, project_id: object) -> Project | None:
    return Project.objects.for_tenant(tenant).filter(pk=project_id).first()
