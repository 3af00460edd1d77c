"""Deleting the organization: its owner, after typing its name."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from tenants.dashboard import TenantView
from tenants.errors import ServiceError
from tenants.models import Role
from tenants.reauthentication import sudo_post
from tenants.services.organizations import tenant_delete


class TenantDeleteView(TenantView, TemplateView):
    """``/t/<slug>/delete/``: deletes the organization with everything in it, for good."""

    read_role = Role.OWNER
    write_role = Role.OWNER
    template_name = "tenants/delete.html"

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        name = self.tenant.name
        try:
            tenant_delete(tenant=self.tenant, actor=self.user, confirm_name=request.POST.get("confirm", ""))
        except ServiceError as error:
            context = self.get_context_data(error=error.message, typed=request.POST.get("confirm", ""))
            return self.render_to_response(context, status=400)
        messages.success(request, f"The organization “{name}” and everything in it are deleted.")
        return redirect("dashboard:home")
