"""The audit log page (owners)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.views.generic import ListView

from tenants import selectors
from tenants.dashboard import TenantView
from tenants.models import Role

if TYPE_CHECKING:
    pass


class AuditLogView(TenantView, ListView):
    read_role = Role.OWNER
    write_role = Role.OWNER
    template_name = "tenants/audit_log.html"
    context_object_name = "events"
    paginate_by = 50

    def get_queryset(self) -> Any:
        return selectors.audit_events_of(tenant=self.tenant)
