"""Dashboard pages for webhooks (admins and owners): endpoints, their secret, a test event, the log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from tenants.dashboard import TenantView
from tenants.errors import NotFound, ServiceError
from tenants.models import Role
from tenants.reauthentication import sudo_post
from webhooks import models, selectors, services


class _WebhookPage(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN


class WebhookListView(_WebhookPage, TemplateView):
    template_name = "webhooks/webhooks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            endpoints=selectors.endpoints_of(tenant=self.tenant),
            event_types=models.SUBSCRIBABLE_EVENTS,
        )
        return context

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            endpoint = services.endpoint_create(
                tenant=self.tenant,
                url=request.POST.get("url", ""),
                events=request.POST.getlist("events"),
                description=request.POST.get("description", ""),
                created_by=self.user,
            )
        except ServiceError as error:
            context = self.get_context_data()
            context.update(form_error=error, form=request.POST)
            return self.render_to_response(context, status=error.status)
        messages.success(request, "Endpoint added. Verify our signature with its secret, shown on its page.")
        return redirect("dashboard:webhook-detail", tenant_slug=self.tenant.slug, endpoint_id=endpoint.pk)


def _changes_endpoint(request: HttpRequest) -> bool:
    """Every action on an endpoint but sending it a test event."""
    return request.POST.get("action") != "test"


class WebhookDetailView(_WebhookPage, TemplateView):
    template_name = "webhooks/webhook.html"
    breadcrumb_parents = (("Webhooks", "dashboard:webhook-list"),)
    breadcrumb = "Endpoint"  # the template shows the endpoint's URL

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            endpoint = selectors.endpoint_get(tenant=self.tenant, endpoint_id=self.kwargs["endpoint_id"])
        except NotFound as error:
            raise Http404(error.message) from None
        context.update(
            endpoint=endpoint,
            now=timezone.now(),
            deliveries=selectors.deliveries_of(tenant=self.tenant, endpoint_id=endpoint.pk)[:50],
        )
        return context

    @sudo_post(when=_changes_endpoint)
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action, endpoint_id = request.POST.get("action"), kwargs["endpoint_id"]
        try:
            if action == "test":
                services.send_test_event(tenant=self.tenant, endpoint_id=endpoint_id)
                messages.success(request, "Test event sent; its delivery appears below.")
            elif action == "rotate":
                services.endpoint_rotate_secret(tenant=self.tenant, endpoint_id=endpoint_id)
                hours = f"{settings.WEBHOOK_SECRET_OVERLAP_H:g}"
                messages.success(
                    request,
                    f"New signing secret below. For {hours} h deliveries are signed with the old one too: "
                    "update your receiver before then.",
                )
            elif action in ("enable", "disable"):
                services.endpoint_update(tenant=self.tenant, endpoint_id=endpoint_id, is_active=action == "enable")
                messages.success(request, f"Endpoint {action}d.")
            elif action == "delete":
                services.endpoint_delete(tenant=self.tenant, endpoint_id=endpoint_id)
                messages.success(request, "Endpoint deleted.")
                return redirect("dashboard:webhook-list", tenant_slug=self.tenant.slug)
        except NotFound as error:
            raise Http404(error.message) from None
        except ServiceError as error:
            messages.error(request, error.message)
        return redirect("dashboard:webhook-detail", tenant_slug=self.tenant.slug, endpoint_id=endpoint_id)
