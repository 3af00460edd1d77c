"""The one base every dashboard page of a tenant (``/t/<slug>/...``) inherits.

It resolves the tenant from the URL, checks the signed-in user's membership (none, or a suspended
tenant: 404, exactly like a missing tenant), sets the database's tenant context, and checks the role
the page needs for reads (``read_role``) and writes (``write_role``): too low is 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views import View

from tenants import db
from tenants.models import Membership, Role, Tenant
from tenants.selectors import membership_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LAST_TENANT_SESSION_KEY = "last_tenant_slug"


class TenantView(LoginRequiredMixin, View):
    read_role: ClassVar[str] = Role.VIEWER
    write_role: ClassVar[str] = Role.MEMBER

    tenant: Tenant
    membership: Membership

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        tenant = Tenant.objects.filter(slug=kwargs.pop("tenant_slug"), is_active=True).first()
        if tenant is None:
            raise Http404("No such organization.")
        db.activate_tenant(tenant.pk, user_id=request.user.pk)
        membership = membership_of(tenant=tenant, user=request.user)
        if membership is None:
            raise Http404("No such organization.")
        needed = self.read_role if request.method in ("GET", "HEAD", "OPTIONS") else self.write_role
        if not membership.has_role(needed):
            raise PermissionDenied(f"This needs the {Role(needed).label} role or higher.")
        self.tenant, self.membership = tenant, membership
        request.session[LAST_TENANT_SESSION_KEY] = tenant.slug
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(tenant=self.tenant, membership=self.membership)
        return context

    @property
    def user(self) -> User:
        """The signed-in user (dispatch has made sure there is one)."""
        return cast("User", self.request.user)

    @property
    def client_ip(self) -> str | None:
        """The client's address; behind trusted proxies ``ClientIpMiddleware`` has put it in REMOTE_ADDR."""
        return self.request.META.get("REMOTE_ADDR")
