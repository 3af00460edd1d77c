"""The base of every page about one project: its tenant, the roles that read and write, the project.

Its breadcrumbs: the organization, Projects and, on a page of one project, the project; then the page's
``breadcrumb_parents`` (reversed with the project's id too) and its own ``breadcrumb``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse

from projects import selectors
from projects.models import Project
from tenants.dashboard import Crumb, TenantView
from tenants.models import Role


class ProjectTenantView(TenantView):
    read_role = Role.VIEWER
    write_role = Role.MEMBER

    _project: Project | None = None

    def get_project(self) -> Project:
        if self._project is None:
            project = selectors.project_of(tenant=self.tenant, project_id=self.kwargs["project_id"])
            if project is None:
                raise Http404("No such project.")
            self._project = project
        return self._project

    def breadcrumb_kwargs(self) -> dict[str, Any]:
        kwargs = super().breadcrumb_kwargs()
        if "project_id" in self.kwargs:
            kwargs["project_id"] = self.kwargs["project_id"]
        return kwargs

    def get_breadcrumbs(self) -> list[Crumb]:
        tenant_slug = self.tenant.slug
        crumbs = [
            Crumb(self.tenant.name, reverse("dashboard:overview", kwargs={"tenant_slug": tenant_slug})),
            Crumb("Projects", reverse("dashboard:project-list", kwargs={"tenant_slug": tenant_slug})),
        ]
        if "project_id" in self.kwargs:
            project = self.get_project()
            crumbs.append(
                Crumb(
                    project.name,
                    reverse("dashboard:project-detail", kwargs={"tenant_slug": tenant_slug, "project_id": project.pk}),
                )
            )
        kwargs = self.breadcrumb_kwargs()
        crumbs += [Crumb(label, reverse(name, kwargs=kwargs)) for label, name in self.breadcrumb_parents]
        return crumbs

    @property
    def can_write(self) -> bool:
        return self.membership.has_role(self.write_role)
