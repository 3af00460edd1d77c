"""The one base every dashboard page of a tenant (``/t/<slug>/...``) inherits.

It resolves the tenant from the URL, checks the signed-in user's membership (none, or a suspended
tenant: 404, exactly like a missing tenant), sets the database's tenant context, and checks the role
the page needs for reads (``read_role``) and writes (``write_role``): too low is 403.

It also gives every page its breadcrumbs (``templates/base.html`` renders them; no page writes its own):
the organization, then ``breadcrumb_parents`` (label and URL name, linked), then the page's own
``breadcrumb``, unlinked. A page whose last crumb is dynamic sets ``breadcrumb`` in its context, or fills
base.html's ``{% block breadcrumb %}`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import reverse
from django.views import View

from tenants import db
from tenants.models import Membership, Role, Tenant
from tenants.selectors import membership_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LAST_TENANT_SESSION_KEY = "last_tenant_slug"


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str = ""


class TenantView(LoginRequiredMixin, View):
    read_role: ClassVar[str] = Role.VIEWER
    write_role: ClassVar[str] = Role.MEMBER
    # The page's own last crumb ("" for a page that is itself the last of its parents: the overview).
    breadcrumb: ClassVar[str] = ""
    # The pages between the organization and this one: (label, URL name), reversed with this page's URL kwargs.
    breadcrumb_parents: ClassVar[tuple[tuple[str, str], ...]] = ()

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
        context.setdefault("breadcrumbs", self.get_breadcrumbs())
        if self.breadcrumb:
            context.setdefault("breadcrumb", self.breadcrumb)
        return context

    def breadcrumb_kwargs(self) -> dict[str, Any]:
        """The URL kwargs a parent crumb's URL is reversed with."""
        return {"tenant_slug": self.tenant.slug}

    def get_breadcrumbs(self) -> list[Crumb]:
        """The linked trail above this page: its organization, then ``breadcrumb_parents``."""
        crumbs = [Crumb(self.tenant.name, reverse("dashboard:overview", kwargs={"tenant_slug": self.tenant.slug}))]
        kwargs = self.breadcrumb_kwargs()
        crumbs += [Crumb(label, reverse(name, kwargs=kwargs)) for label, name in self.breadcrumb_parents]
        return crumbs

    @property
    def user(self) -> User:
        """The signed-in user (dispatch has made sure there is one)."""
        return cast("User", self.request.user)

    @property
    def client_ip(self) -> str | None:
        """The client's address; behind trusted proxies ``ClientIpMiddleware`` has put it in REMOTE_ADDR."""
        return self.request.META.get("REMOTE_ADDR")
