"""Pages of training runs: the list with the start form, one run live, cancel (after a confirmation)."""

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
from tenants.errors import InvalidInput, ServiceError
from tenants.listing import page_of
from training import selectors, services
from training.engine import defaults_for
from training.models import Method, RunStatus, TrainingRun
from training.views import run_text

FORM_FIELDS = ("dataset_id", "method", "epochs", "learning_rate", "batch_size", "max_length")
SETTING_FIELDS = ("epochs", "learning_rate", "batch_size", "max_length")


class RunListView(ProjectTenantView, TemplateView):
    """The project's runs (paged, filtered by status) and the form that starts one, with its estimate."""

    breadcrumb = "Training runs"

    template_name = "training/runs.html"

    def get_template_names(self) -> list[str]:
        # The form asks for its estimate again as it changes: only that part comes back.
        if self.request.headers.get("HX-Request") and self.request.headers.get("HX-Target") == "training-estimate":
            return ["billing/_training_estimate.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        datasets = list(ready_datasets_of(tenant=self.tenant, project=project))
        can_write = self.membership.has_role(self.write_role)
        # What the form shows: what was sent (a refused form comes back as it was), else the query's choice
        # (``?dataset=`` from a dataset's Train button, ``dataset_id`` as the form asks for its estimate).
        values = kwargs.get("values") or {
            name: self.request.GET.get(name, "") for name in FORM_FIELDS if name != "dataset_id"
        }
        chosen = self.chosen_dataset(datasets, values.get("dataset_id") or self.request.GET.get("dataset_id"))
        status = self.request.GET.get("status", "")
        runs = selectors.runs_of(tenant=self.tenant, project=project)
        if status in RunStatus.values:
            runs = runs.filter(status=status)
        elif status:
            context["bad_filter"] = f"Status must be one of {', '.join(RunStatus.values)}; all runs are shown."
        listing = page_of(self.request, runs)
        page = list(listing.items)
        ahead = selectors.queue_positions(runs=page)
        for run in page:
            run.queue_place = ahead[run.pk] + 1 if run.pk in ahead else None
        context.update(
            project=project,
            listing=listing,
            runs=page,
            status=status if status in RunStatus.values else "",
            statuses=RunStatus.choices,
            datasets=datasets,
            chosen_dataset_id=str(chosen.pk) if chosen else "",
            methods=Method.choices,
            values=values,
            errors=kwargs.get("errors") or {},
            form_error=kwargs.get("form_error", ""),
            settings_open=any(name in (kwargs.get("errors") or {}) for name in SETTING_FIELDS),
            can_write=can_write,
            estimate=self.estimate(chosen, values) if can_write and chosen else None,
        )
        return context

    def chosen_dataset(self, datasets: list[Dataset], wanted: str | None) -> Dataset | None:
        wanted = wanted or self.request.GET.get("dataset", "")
        return next((d for d in datasets if str(d.pk) == wanted), datasets[0] if datasets else None)

    def estimate(self, dataset: Dataset, values: dict[str, str]) -> TrainingEstimate:
        """The time and cost of the run the form describes (the form asks again as it changes)."""
        try:
            epochs = services.clean_run_settings({"epochs": values.get("epochs", "")}).get("epochs")
        except InvalidInput:
            epochs = None
        if not isinstance(epochs, int):
            method = values.get("method") or Method.FULL
            epochs = defaults_for(dataset.rows_usable, dataset.label_count, method).epochs
        return training_estimate(tenant_id=self.tenant.pk, rows=dataset.rows_usable, epochs=epochs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if "bad_filter" in context else 200)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        values = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
        try:
            dataset_id = UUID(values["dataset_id"])
        except ValueError:
            return self.refused(values, {"dataset_id": "Choose a ready dataset to train on."})
        try:
            run = services.run_create(
                tenant=self.tenant,
                project=project,
                dataset_id=dataset_id,
                method=values["method"] or Method.FULL,
                created_by=self.user,
                **{name: values[name] for name in SETTING_FIELDS},
            )
        except InvalidInput as error:
            errors = {d["field"]: d["message"] for d in error.details or []}
            if not errors:
                errors = {error.field or "": error.message}
            return self.refused(values, errors)
        except ServiceError as error:
            field_errors = {"dataset_id": error.message} if error.field == "dataset_id" else {}
            return self.refused(values, field_errors, form_error="" if field_errors else error.message)
        return redirect("dashboard:run-detail", tenant_slug=self.tenant.slug, project_id=project.pk, run_id=run.pk)

    def refused(self, values: dict[str, str], errors: dict[str, str], form_error: str = "") -> HttpResponse:
        """The form again, as it was sent, each error beside its field; nothing was queued."""
        known = {name: message for name, message in errors.items() if name in FORM_FIELDS}
        others = [message for name, message in errors.items() if name not in FORM_FIELDS]
        form_error = " ".join([form_error, *others]).strip()
        context = self.get_context_data(values=values, errors=known, form_error=form_error)
        return self.render_to_response(context, status=400)


class RunDetailView(ProjectTenantView, TemplateView):
    breadcrumb_parents = (("Training runs", "dashboard:run-list"),)
    breadcrumb = "Run"
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
        queue_position = selectors.queue_position(run=run)
        context.update(
            project=run.project,
            run=run,
            progress=progress,
            percent=round(100 * progress.get("step", 0) / steps) if steps else 0,
            status_detail=run_text.status_detail(run, progress, queue_position),
            progress_detail=run_text.progress_detail(run, progress),
            outcome=run_text.outcome_text(run, progress),
            chart=run_text.chart_data(run, progress),
            queue_position=queue_position,
            version=selectors.version_of_run(tenant=self.tenant, run=run),
            can_write=self.membership.has_role(self.write_role),
        )
        return context


class RunCancelView(ProjectTenantView, TemplateView):
    """Cancel a run, once confirmed: the page's button asks in the browser (``data-confirm``, which then
    sends ``confirm=yes``); without JavaScript, or without ``confirm``, this page asks instead."""

    breadcrumb_parents = (("Training runs", "dashboard:run-list"),)
    breadcrumb = "Cancel a run"

    template_name = "training/run_cancel.html"

    def run(self) -> TrainingRun:
        run = selectors.run_of(tenant=self.tenant, project_id=self.kwargs["project_id"], run_id=self.kwargs["run_id"])
        if run is None:
            raise Http404("No such training run.")
        return run

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = self.run()
        context.update(project=run.project, run=run, can_write=self.can_write)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        run = self.run()
        if request.POST.get("confirm") != "yes":
            return self.render_to_response(self.get_context_data())
        try:
            services.run_cancel(tenant=self.tenant, run_id=run.pk)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.info(request, "Cancelling: a running training stops within seconds.")
        return redirect("dashboard:run-detail", tenant_slug=self.tenant.slug, project_id=run.project_id, run_id=run.pk)
