"""The model versions page: compare versions, deploy one or roll back to it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from training import selectors, services


class ModelListView(ProjectTenantView, TemplateView):
    template_name = "training/models.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        versions = list(selectors.versions_of(tenant=self.tenant, project=project))
        active = next((v for v in versions if v.is_active), None)
        labels = sorted({name for v in versions for name in v.label_names})
        rows = []
        for label in labels:
            cells = []
            for version in versions:
                f1 = version.metrics.get("per_class", {}).get(label, {}).get("f1-score")
                base = active.metrics.get("per_class", {}).get(label, {}).get("f1-score") if active else None
                delta = None if f1 is None or base is None or version is active else f1 - base
                cells.append({"f1": f1, "delta": delta})
            rows.append({"label": label, "cells": cells})
        context.update(
            project=project,
            versions=versions,
            active=active,
            per_label=rows,
            can_write=self.membership.has_role(self.write_role),
        )
        return context


class ModelDeployView(ProjectTenantView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            version = services.model_deploy(tenant=self.tenant, version_id=kwargs["version_id"])
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"v{version.version} is now the model {project.name} serves.")
        return redirect("dashboard:model-list", tenant_slug=self.tenant.slug, project_id=project.pk)
