"""Dashboard pages for datasets: list and upload (drag and drop, column mapping, progress), the data
check's report with its label chart, fix, delete. Thin: the services do the work."""

from __future__ import annotations

from typing import Any, BinaryIO, cast
from uuid import UUID

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from projects import ingest, selectors, services
from projects.models import Dataset, DatasetStatus
from projects.views.base import ProjectTenantView
from tenants.errors import ServiceError
from tenants.listing import page_of


def _mapping(request: HttpRequest) -> services.Mapping:
    fmt = request.POST.get("format") or "auto"
    multi = request.POST.get("multi_label")
    return services.Mapping(
        text_column=request.POST.get("text_column") or None,
        label_column=request.POST.get("label_column") or None,
        multi_label=None if multi in (None, "", "auto") else multi in ("1", "true", "on"),
        format=None if fmt == "auto" or fmt not in ingest.Format.__members__.values() else ingest.Format(fmt),
    )


def _error_json(error: ServiceError) -> JsonResponse:
    """The error for the page's script; ``blocking``: the file cannot be uploaded as it is."""
    detail = (error.details or [{}])[0]
    return JsonResponse(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "row": detail.get("row"),
                "column": detail.get("column"),
                "blocking": not isinstance(error, services.PreviewIncomplete),
            }
        },
        status=error.status,
    )


def _declared_size(request: HttpRequest) -> int | None:
    """The whole file's size, which the page's script sends with the part of the file it previews."""
    value = request.POST.get("size", "")
    return int(value) if value.isdigit() else None


# Characters of a label shown in the report's table and chart: a "label" may be a whole text (a column
# mapped wrongly), which shown whole makes the page thousands of pixels tall.
LABEL_CHARS = 60


def _shown(text: str, limit: int) -> dict[str, Any]:
    """A cell cut to ``limit`` characters with an ellipsis; ``chars``: its full length when it was cut."""
    if len(text) <= limit:
        return {"text": text, "chars": None}
    return {"text": text[: limit - 1] + "…", "chars": len(text)}


class DatasetListView(ProjectTenantView, TemplateView):
    """The project's datasets, newest first, a page at a time; ``?q=`` searches names, ``?status=`` filters."""

    breadcrumb = "Datasets"

    template_name = "datasets/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        query = self.request.GET.get("q", "").strip()[:200]
        status = self.request.GET.get("status", "")
        if status not in DatasetStatus.values:
            status = ""
        datasets = selectors.datasets_listed(tenant=self.tenant, project=project, search=query, status=status)
        context.update(
            project=project,
            listing=page_of(self.request, datasets),
            search=query,
            status=status,
            statuses=DatasetStatus.choices,
            any_datasets=bool(query or status) or datasets.exists(),
            can_write=self.membership.has_role(self.write_role),
            formats=["auto", *[str(f) for f in ingest.Format]],
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The upload. Answers JSON to the page's script (which shows progress), a redirect to a plain form."""
        project = self.get_project()
        wants_json = request.headers.get("Accept", "").startswith("application/json")
        upload = cast(UploadedFile | None, request.FILES.get("file"))
        if upload is None:
            error = ServiceError("Choose a file to upload.", code="no_file", field="file")
            return _error_json(error) if wants_json else self._form_error(error)
        try:
            dataset, created = services.dataset_upload(
                tenant=self.tenant,
                project=project,
                stream=cast(BinaryIO, upload.file),
                name=upload.name or "upload",
                size=upload.size or 0,
                mapping=_mapping(request),
                uploaded_by=self.user,
            )
        except ServiceError as error:
            return _error_json(error) if wants_json else self._form_error(error)
        url = reverse(
            "dashboard:dataset-detail",
            kwargs={"tenant_slug": self.tenant.slug, "project_id": project.pk, "dataset_id": dataset.pk},
        )
        if not created:
            messages.info(request, "This file, with these columns, was uploaded before: here is its check.")
        if wants_json:
            return JsonResponse({"id": str(dataset.pk), "status": dataset.status, "url": url})
        return redirect(url)

    def _form_error(self, error: ServiceError) -> HttpResponse:
        context = self.get_context_data()
        context["upload_error"] = error
        return self.render_to_response(context, status=error.status)


class DatasetPreviewView(ProjectTenantView):
    """The column-mapping step: the page's script posts the file's first bytes (and its size and the chosen
    columns, again when they change); the answer says what the upload would refuse. Nothing is stored."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        self.get_project()
        upload = cast(UploadedFile | None, request.FILES.get("file"))
        if upload is None:
            return _error_json(ServiceError("Choose a file to upload.", code="no_file", field="file"))
        try:
            preview = services.dataset_preview(
                stream=cast(BinaryIO, upload.file), mapping=_mapping(request), size=_declared_size(request)
            )
            return JsonResponse(preview)
        except ServiceError as error:
            return _error_json(error)


class DatasetDetailView(ProjectTenantView, TemplateView):
    breadcrumb_parents = (("Datasets", "dashboard:dataset-list"),)
    breadcrumb = "Dataset"
    template_name = "datasets/detail.html"

    def get_dataset(self) -> Dataset:
        dataset = selectors.dataset_of(
            tenant=self.tenant, project_id=self.kwargs["project_id"], dataset_id=self.kwargs["dataset_id"]
        )
        if dataset is None:
            raise Http404("No such dataset.")
        return dataset

    def get_template_names(self) -> list[str]:
        # While a large file is being checked the page polls this partial (HTMX) for progress.
        if self.request.headers.get("HX-Request") and self.request.GET.get("part") == "status":
            return ["datasets/_status.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        dataset = self.get_dataset()
        report = dataset.report or {}
        findings = [
            {**f, "more": f["count"] - len(f["rows"]) if f.get("rows") else 0} for f in report.get("findings", [])
        ]
        labels = report.get("labels", [])
        label_rows = [{**_shown(label["name"], LABEL_CHARS), "count": label["count"]} for label in labels]
        context.update(
            project=dataset.project,
            dataset=dataset,
            report=report,
            errors=[f for f in findings if f["severity"] == "error"],
            warnings=[f for f in findings if f["severity"] == "warning"],
            notes=[f for f in findings if f["severity"] == "info"],
            chart={
                "labels": [row["text"] for row in label_rows[:60]],
                "counts": [label["count"] for label in labels[:60]],
            },
            more_labels=max(0, len(labels) - 60),
            label_rows=label_rows,
            checking=dataset.status == DatasetStatus.CHECKING,
            can_write=self.membership.has_role(self.write_role),
            can_train=dataset.status == DatasetStatus.READY and self.membership.has_role(self.write_role),
            versions=selectors.dataset_versions(tenant=self.tenant, dataset=dataset),
        )
        return context


class DatasetFixView(ProjectTenantView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            fixed, _ = services.dataset_apply_fixes(
                tenant=self.tenant, dataset_id=UUID(str(kwargs["dataset_id"])), by=self.user
            )
        except ServiceError as error:
            messages.error(request, error.message)
            return redirect(
                "dashboard:dataset-detail",
                tenant_slug=self.tenant.slug,
                project_id=project.pk,
                dataset_id=kwargs["dataset_id"],
            )
        messages.success(request, f"Made version {fixed.version} with the fixes applied; the original is unchanged.")
        return redirect(
            "dashboard:dataset-detail", tenant_slug=self.tenant.slug, project_id=project.pk, dataset_id=fixed.pk
        )


class DatasetDeleteView(ProjectTenantView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            services.dataset_delete(tenant=self.tenant, dataset_id=UUID(str(kwargs["dataset_id"])))
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Dataset deleted, with its stored file.")
        return redirect("dashboard:dataset-list", tenant_slug=self.tenant.slug, project_id=project.pk)
