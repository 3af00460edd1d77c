"""An organization's home page: its first projects and how many people work in it."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from projects import selectors
from tenants.dashboard import TenantView
from tenants.models import Role
from tenants.selectors import members_of


class OverviewView(TenantView, TemplateView):
    template_name = "projects/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        projects = selectors.projects_of(tenant=self.tenant)
        context.update(
            projects=projects[:10],
            project_count=projects.count(),
            member_count=members_of(tenant=self.tenant).count(),
            can_write=self.membership.has_role(Role.MEMBER),
        )
        return context
