"""Dashboard pages for training: start a run, watch it live (HTMX polling, loss and F1 chart), cancel it;
compare model versions and deploy or roll back. Thin: training.services does the work."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView

from projects.models import Dataset, DatasetStatus
from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from training import selectors, services
from training.models import Method, ModelVersion, TrainingRun


def _number(value: str) -> int | float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


class RunListView(ProjectTenantView, TemplateView):
    template_name = "training/runs.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        context.update(
            project=project,
            runs=TrainingRun.objects.for_tenant(self.tenant).filter(project=project).select_related("dataset")[:50],
            datasets=Dataset.objects.for_tenant(self.tenant).filter(project=project, status=DatasetStatus.READY),
            methods=Method.choices,
            can_write=self.membership.has_role(self.write_role),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        given = {
            name: _number(request.POST.get(name, ""))
            for name in ("epochs", "learning_rate", "batch_size", "max_length")
        }
        hyperparameters: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        try:
            run = services.run_create(
                tenant=self.tenant,
                project=project,
                dataset_id=UUID(request.POST.get("dataset_id") or ""),
                method=request.POST.get("method") or Method.FULL,
                created_by=self.user,
                **hyperparameters,
            )
        except (ServiceError, ValueError) as error:
            messages.error(request, getattr(error, "message", "Choose a ready dataset to train on."))
            return redirect("dashboard:run-list", tenant_slug=self.tenant.slug, project_id=project.pk)
        return redirect("dashboard:run-detail", tenant_slug=self.tenant.slug, project_id=project.pk, run_id=run.pk)


class RunDetailView(ProjectTenantView, TemplateView):
    template_name = "training/run.html"

    def get_template_names(self) -> list[str]:
        if self.request.headers.get("HX-Request"):
            return ["training/_run_live.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = get_object_or_404(
            TrainingRun.objects.for_tenant(self.tenant).select_related("project", "dataset"),
            pk=self.kwargs["run_id"],
            project_id=self.kwargs["project_id"],
        )
        progress = run.progress or {}
        steps = progress.get("total_steps") or 0
        context.update(
            project=run.project,
            run=run,
            progress=progress,
            percent=round(100 * progress.get("step", 0) / steps) if steps else 0,
            chart={
                "epochs": [entry["epoch"] for entry in run.history],
                "loss": [entry.get("train_loss") for entry in run.history],
                "f1": [entry.get("val_macro_f1") for entry in run.history],
            },
            queue_position=selectors.queue_position(run=run),
            version=ModelVersion.objects.for_tenant(self.tenant).filter(training_run=run).first(),
            can_write=self.membership.has_role(self.write_role),
        )
        return context


class RunCancelView(ProjectTenantView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            services.run_cancel(tenant=self.tenant, run_id=kwargs["run_id"])
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.info(request, "Cancelling: a running training stops within seconds.")
        return redirect(
            "dashboard:run-detail", tenant_slug=self.tenant.slug, project_id=project.pk, run_id=kwargs["run_id"]
        )


class ModelListView(ProjectTenantView, TemplateView):
    template_name = "training/models.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        versions = list(ModelVersion.objects.for_tenant(self.tenant).filter(project=project))
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
