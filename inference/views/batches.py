"""Batch predictions of a project: upload a file, watch the jobs, download results."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from inference import selectors
from inference.models import BatchStatus
from inference.services import batches
from projects.views.base import ProjectTenantView
from tenants.errors import InvalidInput, ServiceError
from tenants.listing import page_of
from tenants.models import Role

PER_PAGE = 25


class BatchListView(ProjectTenantView, TemplateView):
    """Batch predictions of a project: upload a file, watch the jobs, download results."""

    breadcrumb = "Batch predictions"

    template_name = "inference/batches.html"
    write_role = Role.MEMBER

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["inference/_batch_rows.html"]
        return [self.template_name]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if "bad_filter" in context else 200)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        status = self.request.GET.get("status", "").strip()
        try:
            jobs = selectors.batches_filtered(tenant=self.tenant, project=project, status=status)
        except InvalidInput as error:
            context["bad_filter"] = error.message
            status = ""
            jobs = selectors.batches_filtered(tenant=self.tenant, project=project)
        listing = page_of(self.request, jobs, per_page=PER_PAGE)
        context.update(
            project=project,
            can_write=self.can_write,
            listing=listing,
            jobs=listing.items,
            status=status,
            statuses=BatchStatus.choices,
            # The rows poll themselves (htmx) while a job on this page is still at work.
            running=any(not job.is_finished for job in listing.items),
            deployed=selectors.active_version(project=project),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a file of texts to predict.")
        else:
            try:
                batches.batch_create(
                    tenant=self.tenant,
                    project=project,
                    stream=cast(Any, upload.file),
                    name=upload.name or "upload",
                    size=upload.size or 0,
                    text_column=request.POST.get("text_column", "").strip() or None,
                    created_by=self.user,
                )
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"“{upload.name}” is queued; this page shows its progress.")
        return redirect("dashboard:batch-list", tenant_slug=self.tenant.slug, project_id=project.pk)


class BatchResultsView(ProjectTenantView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FileResponse:
        job = selectors.finished_batch(tenant=self.tenant, project_id=kwargs["project_id"], batch_id=kwargs["batch_id"])
        if job is None:
            raise Http404("No such finished batch prediction.")
        download = batches.results_download(job)
        return FileResponse(
            download.file, as_attachment=True, filename=download.filename, content_type=download.content_type
        )
