"""The model versions page: compare versions, deploy one or roll back to it.

Deploying a version that scores lower than the one being served (its headline score, macro-F1, the first
row of the page) first shows both scores side by side and deploys only once confirmed; a version scoring
the same or higher deploys at once. The API's deploy is unaffected: integrations decide for themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.generic import TemplateView

from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from training import selectors, services
from training.models import ModelVersion

# The score versions are ranked by on these pages: the first row of the versions table.
HEADLINE_METRIC = "macro_f1"
HEADLINE_LABEL = "Macro-F1"


def headline_score(version: ModelVersion | None) -> float | None:
    if version is None:
        return None
    value = (version.metrics or {}).get(HEADLINE_METRIC)
    return float(value) if isinstance(value, int | float) else None


def scores_lower(version: ModelVersion, serving: ModelVersion | None) -> bool:
    """True when ``version`` scores below the serving one (both scored; nothing served: never lower)."""
    new, current = headline_score(version), headline_score(serving)
    return new is not None and current is not None and new < current


class ModelListView(ProjectTenantView, TemplateView):
    breadcrumb = "Model versions"
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
    breadcrumb_parents = (("Model versions", "dashboard:model-list"),)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        versions = selectors.versions_of(tenant=self.tenant, project=project)
        version = versions.filter(pk=kwargs["version_id"]).first()
        if version is None:
            raise Http404("No such model version.")
        serving = versions.filter(is_active=True).first()
        if not version.is_active and scores_lower(version, serving) and request.POST.get("confirm") != "yes":
            version_score, serving_score = headline_score(version), headline_score(serving)
            return render(
                request,
                "training/deploy_confirm.html",
                {
                    "tenant": self.tenant,
                    "membership": self.membership,
                    "breadcrumbs": self.get_breadcrumbs(),
                    "breadcrumb": "Deploy",
                    "project": project,
                    "version": version,
                    "serving": serving,
                    "metric": HEADLINE_LABEL,
                    "version_score": version_score,
                    "serving_score": serving_score,
                    "delta": (version_score or 0.0) - (serving_score or 0.0),
                },
            )
        try:
            version = services.model_deploy(tenant=self.tenant, version_id=version.pk)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"v{version.version} is now the model {project.name} serves.")
        return redirect("dashboard:model-list", tenant_slug=self.tenant.slug, project_id=project.pk)
