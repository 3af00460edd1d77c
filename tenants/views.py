"""Dashboard pages of tenants: home, overview, members, invitations, API keys, audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from projects.selectors import projects_of
from tenants.dashboard import LAST_TENANT_SESSION_KEY, TenantView
from tenants.selectors import memberships_of_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated
    memberships = list(memberships_of_user(request.user))
    if not memberships:
        return redirect("dashboard:tenant-create")
    last = request.session.get(LAST_TENANT_SESSION_KEY)
    chosen = next((m for m in memberships if m.tenant.slug == last), memberships[0])
    return redirect("dashboard:overview", tenant_slug=chosen.tenant.slug)


class OverviewView(TenantView, TemplateView):
    template_name = "tenants/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["projects"] = projects_of(tenant=self.tenant)[:10]
        return context
