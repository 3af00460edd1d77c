"""The review list: corrections sent over the API and predictions the model was unsure of."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from inference import selectors
from inference.services import feedback
from projects.models import Project
from projects.selectors import ready_datasets_of
from projects.views.base import ProjectTenantView
from tenants.errors import ServiceError
from tenants.models import Role


class ReviewListView(ProjectTenantView, TemplateView):
    """Texts to review: corrections sent over the API and predictions the model was unsure of."""

    template_name = "inference/review.html"
    write_role = Role.MEMBER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        version = selectors.active_version(project=project)
        pending = selectors.feedback_pending(tenant=self.tenant, project=project)
        context.update(
            project=project,
            can_write=self.can_write,
            pending=pending[:100],
            pending_count=pending.count(),
            ready_count=selectors.feedback_reviewed_ready(tenant=self.tenant, project=project).count(),
            label_names=version.label_names if version else [],
            datasets=ready_datasets_of(tenant=self.tenant, project=project),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        try:
            if request.POST.get("action") == "dataset":
                return self._make_dataset(request, project)
            self._review(request)
        except ValueError:
            raise Http404("No such feedback.") from None
        except ServiceError as error:
            if error.status == 404:
                raise Http404(error.message) from None
            messages.error(request, error.message)
        return redirect("dashboard:review-list", tenant_slug=self.tenant.slug, project_id=project.pk)

    def _make_dataset(self, request: HttpRequest, project: Project) -> HttpResponse:
        """The reviewed texts (over a chosen base dataset) as a new dataset: its page is next."""
        base = request.POST.get("dataset_id") or None
        dataset = feedback.feedback_to_dataset(
            tenant=self.tenant, project=project, base_dataset_id=UUID(base) if base else None, user=self.user
        )
        messages.success(request, f"Dataset “{dataset.name}” made with the reviewed texts: train on it next.")
        return redirect(
            "dashboard:dataset-detail", tenant_slug=self.tenant.slug, project_id=project.pk, dataset_id=dataset.pk
        )

    def _review(self, request: HttpRequest) -> None:
        """Accept (with the label given, or the one it has) or reject one text of the list."""
        item = UUID(request.POST.get("feedback_id", ""))
        accept = request.POST.get("action") == "accept"
        label = (request.POST.get("new_label") or request.POST.get("label") or "").strip()
        feedback.feedback_review(
            tenant=self.tenant, feedback_id=item, accept=accept, labels=[label] if label else None, user=self.user
        )
