"""Pages of organizations: the home redirect and creating one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from tenants import services
from tenants.dashboard import LAST_TENANT_SESSION_KEY
from tenants.errors import ServiceError
from tenants.forms import (
    TenantForm,
    add_service_error,
)
from tenants.selectors import memberships_of_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated
    memberships = list(memberships_of_user(request.user))
    if not memberships:
        return redirect("dashboard:tenant-create")
    last = request.session.get(LAST_TENANT_SESSION_KEY)
    chosen = next((m for m in memberships if m.tenant.slug == last), memberships[0])
    return redirect("dashboard:overview", tenant_slug=chosen.tenant.slug)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


class TenantCreateView(LoginRequiredMixin, TemplateView):
    """``/organizations/new/``: any signed-in user may start an organization and owns it."""

    template_name = "tenants/create.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TenantForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = TenantForm(request.POST)
        if form.is_valid():
            try:
                tenant = services.tenant_create(
                    name=form.cleaned_data["name"], owner=cast("User", request.user), ip_address=client_ip(request)
                )
            except ServiceError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"Welcome to {tenant.name}. Start with a project.")
                return redirect("dashboard:overview", tenant_slug=tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)
