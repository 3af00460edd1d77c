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
from projects.models import DatasetStatus, Project
from projects.selectors import ready_datasets_of
from projects.views.base import ProjectTenantView
from tenants.errors import InvalidInput, ServiceError
from tenants.listing import page_of
from tenants.models import Role

PER_PAGE = 50

# The bulk actions of the list: (accept?, on the selected rows? else on every row the filter shows).
BULK_ACTIONS = {
    "accept_selected": (True, True),
    "reject_selected": (False, True),
    "accept_matching": (True, False),
    "reject_matching": (False, False),
}


class ReviewListView(ProjectTenantView, TemplateView):
    """Texts to review: corrections sent over the API and predictions the model was unsure of."""

    breadcrumb = "Review"

    template_name = "inference/review.html"
    write_role = Role.MEMBER

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            where = selectors.FeedbackFilter.parse(request.GET)
        except InvalidInput as error:
            where = selectors.FeedbackFilter()
            return self.render_to_response(self.get_context_data(where=where, bad_filter=error.message), status=400)
        return self.render_to_response(self.get_context_data(where=where))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        where: selectors.FeedbackFilter = kwargs["where"]
        version = selectors.active_version(project=project)
        listing = page_of(
            self.request,
            selectors.feedback_filtered(tenant=self.tenant, project=project, where=where).select_related("dataset"),
            per_page=PER_PAGE,
        )
        counts = selectors.feedback_status_counts(tenant=self.tenant, project=project)
        context.update(
            project=project,
            can_write=self.can_write,
            where=where,
            listing=listing,
            counts=counts,
            pending_count=counts["pending"],
            statuses=[
                (value, f"{text} ({counts[value]:,})" if value in counts else text)
                for value, text in (("pending", "To review"), ("accepted", "Accepted"), ("rejected", "Rejected"))
            ]
            + [("all", f"All ({sum(counts.values()):,})")],
            predicted_labels=selectors.feedback_predicted_labels(tenant=self.tenant, project=project),
            filtered=bool(where.label or where.q),
            ready_count=selectors.feedback_reviewed_ready(tenant=self.tenant, project=project).count(),
            label_names=version.label_names if version else [],
            datasets=ready_datasets_of(tenant=self.tenant, project=project),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        action = request.POST.get("action", "")
        try:
            if action == "dataset":
                return self._make_dataset(request, project)
            if action in BULK_ACTIONS:
                self._review_many(request, project, *BULK_ACTIONS[action])
            else:
                self._review(request)
        except ValueError:
            raise Http404("No such feedback.") from None
        except ServiceError as error:
            if error.status == 404:
                raise Http404(error.message) from None
            messages.error(request, error.message)
        # Back to the list as it was: the same filter and page.
        return redirect(request.get_full_path())

    def _make_dataset(self, request: HttpRequest, project: Project) -> HttpResponse:
        """The reviewed texts (over a chosen base dataset) as a new dataset: its page is next."""
        base = request.POST.get("dataset_id") or None
        dataset = feedback.feedback_to_dataset(
            tenant=self.tenant, project=project, base_dataset_id=UUID(base) if base else None, user=self.user
        )
        made = f"Dataset “{dataset.name}” v{dataset.version} made with the reviewed texts"
        if dataset.status == DatasetStatus.READY:
            messages.success(request, f"{made}: it passed the data check, train on it next.")
        elif dataset.status == DatasetStatus.CHECKING:
            messages.info(request, f"{made}: it is being checked; its page shows the result.")
        else:
            messages.error(request, f"{made}, but it did not pass the data check: its page says why.")
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

    def _review_many(self, request: HttpRequest, project: Project, accept: bool, selected: bool) -> None:
        """Accept or reject the rows ticked, or every row the list's filter shows."""
        if selected:
            ids = [UUID(value) for value in request.POST.getlist("selected")]
            done = feedback.feedback_review_many(
                tenant=self.tenant, project=project, accept=accept, ids=ids, user=self.user
            )
        else:
            where = selectors.FeedbackFilter.parse(request.GET)  # the form posts to the list's own URL
            done = feedback.feedback_review_many(
                tenant=self.tenant, project=project, accept=accept, where=where, user=self.user
            )
        verb = "accepted" if accept else "rejected"
        text = f"{done.done:,} text{'s' if done.done != 1 else ''} {verb}."
        if done.skipped:
            why = "already in a training dataset" + (", or with no label to accept" if accept else "")
            text += f" {done.skipped:,} left as they were ({why})."
        messages.success(request, text)
