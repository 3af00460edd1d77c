"""The base of every page about one project: its tenant, the roles that read and write, the project."""

from __future__ import annotations

from django.http import Http404

from projects import selectors
from projects.models import Project
from tenants.dashboard import TenantView
from tenants.models import Role


class ProjectTenantView(TenantView):
    read_role = Role.VIEWER
    write_role = Role.MEMBER

    def get_project(self) -> Project:
        project = selectors.project_of(tenant=self.tenant, project_id=self.kwargs["project_id"])
        if project is None:
            raise Http404("No such project.")
        return project

    @property
    def can_write(self) -> bool:
        return self.membership.has_role(self.write_role)
