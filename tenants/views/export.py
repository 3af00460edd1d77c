"""Exporting the organization's data (owners): what the archive holds, and the archive itself."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.views.generic import TemplateView

from tenants import export
from tenants.dashboard import TenantView
from tenants.models import Role
from tenants.reauthentication import sudo_post


class TenantExportView(TenantView, TemplateView):
    """``/t/<slug>/export/``: GET lists the archive's parts; POST (after a recent sign-in or password) sends
    the zip, ``<slug>-export-<date>.zip``."""

    read_role = Role.OWNER
    write_role = Role.OWNER
    template_name = "tenants/export.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["parts"] = [
            {"name": p.name, "description": p.description, "summary": p.summary(self.tenant) if p.summary else ""}
            for p in export.parts()
        ]
        context["archive_name"] = export.archive_name(self.tenant)
        return context

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FileResponse:
        archive = export.tenant_export(tenant=self.tenant, actor=self.user, ip_address=self.client_ip)
        response = FileResponse(
            archive, as_attachment=True, filename=export.archive_name(self.tenant), content_type="application/zip"
        )
        response["Cache-Control"] = "no-store"
        return response
