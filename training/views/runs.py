"""Pages of training runs: the list with the start form, one run live, cancel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from billing.estimates import TrainingEstimate, training_estimate
from projects.models import Dataset
from projects.selectors import ready_datasets_of
from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from training import selectors, services
from training.engine import defaults_for
from training.models import Method


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
        datasets = list(ready_datasets_of(tenant=self.tenant, project=project))
        can_write = self.membership.has_role(self.write_role)
        context.update(
            project=project,
            runs=selectors.runs_of(tenant=self.tenant, project=project)[:50],
            datasets=datasets,
            methods=Method.choices,
            can_write=can_write,
            estimate=self.estimate(datasets) if can_write else None,
        )
        return context

    def estimate(self, datasets: list[Dataset]) -> TrainingEstimate | None:
        """The time and cost of the run the form describes (the form asks again as it changes)."""
        chosen = self.request.GET.get("dataset_id", "")
        dataset = next((d for d in datasets if str(d.pk) == chosen), datasets[0] if datasets else None)
        if dataset is None:
            return None
        epochs = _number(self.request.GET.get("epochs", ""))
        if not isinstance(epochs, int) or epochs < 1:
            method = self.request.GET.get("method") or Method.FULL
            epochs = defaults_for(dataset.rows_usable, dataset.label_count, method).epochs
        return training_estimate(tenant_id=self.tenant.pk, rows=dataset.rows_usable, epochs=epochs)

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
        run = selectors.run_of(tenant=self.tenant, project_id=self.kwargs["project_id"], run_id=self.kwargs["run_id"])
        if run is None:
            raise Http404("No such training run.")
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
            version=selectors.version_of_run(tenant=self.tenant, run=run),
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
