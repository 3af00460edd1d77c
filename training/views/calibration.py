"""Adopt a version's suggested confidence threshold in one click (the form of ``training/_calibration.html``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from training import services


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


class ThresholdAdoptView(ProjectTenantView):
    """POST ``key`` (a suggestion's key) and, optionally, ``next`` (a page of this site to go back to)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        key = str(request.POST.get("key", "")).strip()
        try:
            project, suggestion = services.threshold_adopt(
                tenant=self.tenant,
                project_id=project.pk,
                version_id=kwargs["version_id"],
                key=key,
                actor=self.user,
                ip_address=self.client_ip,
            )
        except ServiceError as error:
            if error.status == 404:
                raise Http404(error.message) from error
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"{project.name} now flags predictions scoring below {suggestion['threshold']:.3f} as needs_human: "
                f"on validation that flagged {_percent(suggestion['flagged_share'])}, and the rest were "
                f"{_percent(suggestion['accuracy_of_rest'])} right.",
            )
        target = str(request.POST.get("next", ""))
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("dashboard:model-list", kwargs={"tenant_slug": self.tenant.slug, "project_id": project.pk})
        return redirect(target)
