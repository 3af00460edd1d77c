"""Pages of API keys: list, create (the key shown once), revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.generic import TemplateView

from tenants import selectors, services
from tenants.dashboard import TenantView
from tenants.errors import NotFound, ServiceError
from tenants.forms import (
    ApiKeyForm,
    add_service_error,
)
from tenants.models import Role
from tenants.reauthentication import sudo_post

if TYPE_CHECKING:
    pass


class ApiKeysTenantView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN


class ApiKeyListView(ApiKeysTenantView, TemplateView):
    template_name = "tenants/api_keys.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["api_keys"] = selectors.api_keys_of(tenant=self.tenant)
        return context


class ApiKeyCreateView(ApiKeysTenantView, TemplateView):
    template_name = "tenants/api_key_form.html"
    breadcrumb_parents = (("API keys", "dashboard:api-key-list"),)
    breadcrumb = "New"

    def form(self, data: Any = None) -> ApiKeyForm:
        return ApiKeyForm(data, projects=selectors.key_projects(tenant=self.tenant))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.form())
        return context

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form(request.POST)
        if form.is_valid():
            try:
                api_key, secret = services.api_key_create(
                    tenant=self.tenant,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    project=form.cleaned_data["project"],
                    expires_at=form.expiry(),
                    created_by=self.user,
                    ip_address=self.client_ip,
                )
            except ServiceError as error:
                add_service_error(form, error)
            else:
                # The secret exists only in this response: it is stored hashed and never shown again.
                context = self.get_context_data(
                    api_key=api_key, secret=secret, api_url=request.build_absolute_uri("/api/v1/projects/")
                )
                response = render(request, "tenants/api_key_created.html", context)
                response["Cache-Control"] = "no-store"
                return response
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ApiKeyRevokeView(ApiKeysTenantView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            api_key = services.api_key_revoke(
                tenant=self.tenant,
                public_id=cast(UUID, kwargs["public_id"]),
                actor=self.user,
                ip_address=self.client_ip,
            )
        except NotFound as error:
            raise Http404(error.message) from None
        messages.success(request, f"API key “{api_key.name}” revoked: requests with it are now refused.")
        return redirect("dashboard:api-key-list", tenant_slug=self.tenant.slug)
