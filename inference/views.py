"""Dashboard pages of serving: the try-it box (not billed), monitors with their rules and alerts, and the
review list of feedback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.generic import TemplateView

from inference import batch_jobs, feedback, monitoring, services
from inference.models import (
    Alert,
    AlertRule,
    BatchPrediction,
    BatchStatus,
    Feedback,
    FeedbackStatus,
    Monitor,
    RuleKind,
)
from inference.selectors import active_version
from projects.models import Dataset, DatasetStatus
from projects.views import ProjectTenantView
from tenants.errors import ServiceError
from tenants.models import Role


class ProjectTryView(ProjectTenantView):
    read_role = Role.VIEWER
    write_role = Role.VIEWER  # a try changes nothing

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        text = request.POST.get("text", "")
        context: dict[str, Any] = {"tenant": self.tenant, "project": project, "text": text}
        status = 200
        if not text.strip():
            context["error"] = "Type a text to classify."
            status = 400
        elif len(text) > settings.PREDICT_MAX_TEXT_CHARS:
            context["error"] = (
                f"That text is {len(text):,} characters long; at most {settings.PREDICT_MAX_TEXT_CHARS:,}."
            )
            status = 400
        else:
            try:
                result = services.predict(project=project, texts=[text], top_k=5, billable=False)
            except ServiceError as error:
                context["error"] = error.message
                status = 409 if error.status == 409 else 400
            else:
                context.update(prediction=result["predictions"][0], served=result["model_version"])
        template = "inference/_try_result.html" if getattr(request, "htmx", False) else "inference/try.html"
        return render(request, template, context, status=status)


class _MonitorView(ProjectTenantView):
    write_role = Role.MEMBER

    def get_monitor(self) -> Monitor:
        monitor = (
            Monitor.objects.for_tenant(self.tenant)
            .select_related("project")
            .filter(project_id=self.kwargs["project_id"], pk=self.kwargs["monitor_id"])
            .first()
        )
        if monitor is None:
            raise Http404("No such monitor.")
        return monitor

    def back(self, monitor: Monitor | None = None) -> HttpResponse:
        if monitor is None:
            return redirect(
                "dashboard:project-detail", tenant_slug=self.tenant.slug, project_id=self.kwargs["project_id"]
            )
        return redirect(
            "dashboard:monitor-detail",
            tenant_slug=self.tenant.slug,
            project_id=monitor.project_id,
            monitor_id=monitor.pk,
        )


class MonitorCreateView(_MonitorView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        name = request.POST.get("name", "").strip()
        if not name:
            messages.error(request, "Give the monitor a name.")
            return self.back()
        try:
            monitor = monitoring.monitor_create(tenant=self.tenant, project_id=project.pk, name=name[:100])
        except ServiceError as error:
            messages.error(request, error.message)
            return self.back()
        messages.success(request, f"Monitor “{monitor.name}” created. Post events to it with the API.")
        return self.back(monitor)


class MonitorDetailView(_MonitorView, TemplateView):
    template_name = "inference/monitor.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        monitor = self.get_monitor()
        since = timezone.now() - timedelta(hours=24)
        series = monitoring.label_series(monitor=monitor, since=since, bucket="hour")
        labels = sorted({name for bucket in series for name in bucket["labels"]})
        chart = {
            "buckets": [bucket["start"].strftime("%H:%M") for bucket in series],
            "labels": {name: [b["labels"].get(name, 0) / max(b["total"], 1) for b in series] for name in labels},
        }
        version = active_version(project=monitor.project)
        context.update(
            project=monitor.project,
            monitor=monitor,
            can_write=self.can_write,
            chart=chart,
            events_last_24h=sum(bucket["total"] for bucket in series),
            rules=AlertRule.objects.for_tenant(self.tenant).filter(monitor=monitor),
            alerts=Alert.objects.for_tenant(self.tenant).filter(monitor=monitor)[:50],
            label_names=version.label_names if version else [],
            rule_kinds=RuleKind.choices,
            events_url=self.request.build_absolute_uri(f"/api/v1/monitors/{monitor.pk}/events/"),
        )
        return context


class RuleForm(forms.Form):
    label = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=RuleKind.choices, initial=RuleKind.SHARE_ABOVE)
    threshold_percent = forms.FloatField(min_value=1, max_value=99, label="Threshold (%)")
    min_events = forms.IntegerField(min_value=1, initial=20)
    window_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=60)


class RuleCreateView(_MonitorView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        monitor = self.get_monitor()
        form = RuleForm(request.POST)
        if not form.is_valid():
            problems = "; ".join(
                f"{form.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
                for name, errors in form.errors.items()
            )
            messages.error(request, f"The rule was not added. {problems}")
            return self.back(monitor)
        data = dict(form.cleaned_data)
        data["threshold"] = data.pop("threshold_percent") / 100
        try:
            monitoring.rule_create(tenant=self.tenant, monitor=monitor, **data)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Alert rule added.")
        return self.back(monitor)


class RuleDeleteView(_MonitorView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        monitor = self.get_monitor()
        deleted, _ = AlertRule.objects.for_tenant(self.tenant).filter(monitor=monitor, pk=kwargs["rule_id"]).delete()
        if not deleted:
            raise Http404("No such rule.")
        messages.success(request, "Alert rule deleted.")
        return self.back(monitor)


class ReviewListView(ProjectTenantView, TemplateView):
    """Texts to review: corrections sent over the API and predictions the model was unsure of."""

    template_name = "inference/review.html"
    write_role = Role.MEMBER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        version = active_version(project=project)
        pending = Feedback.objects.for_tenant(self.tenant).filter(project=project, status=FeedbackStatus.PENDING)
        context.update(
            project=project,
            can_write=self.can_write,
            pending=pending[:100],
            pending_count=pending.count(),
            ready_count=feedback.reviewed_ready(tenant=self.tenant, project=project).count(),
            label_names=version.label_names if version else [],
            datasets=Dataset.objects.for_tenant(self.tenant).filter(project=project, status=DatasetStatus.READY),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        back = redirect("dashboard:review-list", tenant_slug=self.tenant.slug, project_id=project.pk)
        try:
            if request.POST.get("action") == "dataset":
                base = request.POST.get("dataset_id") or None
                dataset = feedback.feedback_to_dataset(
                    tenant=self.tenant, project=project, base_dataset_id=UUID(base) if base else None, user=self.user
                )
                messages.success(request, f"Dataset “{dataset.name}” made with the reviewed texts: train on it next.")
                return redirect(
                    "dashboard:dataset-detail",
                    tenant_slug=self.tenant.slug,
                    project_id=project.pk,
                    dataset_id=dataset.pk,
                )
            item = UUID(request.POST.get("feedback_id", ""))
            accept = request.POST.get("action") == "accept"
            label = (request.POST.get("new_label") or request.POST.get("label") or "").strip()
            feedback.feedback_review(
                tenant=self.tenant, feedback_id=item, accept=accept, labels=[label] if label else None, user=self.user
            )
        except ValueError:
            raise Http404("No such feedback.") from None
        except ServiceError as error:
            if error.status == 404:
                raise Http404(error.message) from None
            messages.error(request, error.message)
        return back


class BatchListView(ProjectTenantView, TemplateView):
    """Batch predictions of a project: upload a file, watch the jobs, download results."""

    template_name = "inference/batches.html"
    write_role = Role.MEMBER

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["inference/_batch_rows.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        jobs = list(BatchPrediction.objects.for_tenant(self.tenant).filter(project=project)[:50])
        context.update(
            project=project,
            can_write=self.can_write,
            jobs=jobs,
            running=any(not job.is_finished for job in jobs),
            deployed=active_version(project=project),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_project()
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a file of texts to predict.")
        else:
            try:
                batch_jobs.batch_create(
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
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        job = (
            BatchPrediction.objects.for_tenant(self.tenant)
            .filter(project_id=kwargs["project_id"], pk=kwargs["batch_id"], status=BatchStatus.SUCCEEDED)
            .first()
        )
        if job is None:
            raise Http404("No such finished batch prediction.")
        return batch_jobs.results_download(job)
