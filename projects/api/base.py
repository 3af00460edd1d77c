from __future__ import annotations

from typing import Any

from django.http import Http404

from projects.models import Project
from tenants.api.base import TenantScopedMixin


class ProjectScopedMixin(TenantScopedMixin):
    """For ``/projects/{project_pk}/...`` endpoints: the project in the URL, if this key may see it."""

    kwargs: dict[str, Any]

    def url_project(self) -> Project:
        projects = Project.objects.for_tenant(self.tenant)
        if self.api_key.project_id is not None:
            projects = projects.filter(pk=self.api_key.project_id)
        project = projects.filter(pk=self.kwargs["project_pk"]).first()
        if project is None:
            raise Http404("No such project.")
        return project
