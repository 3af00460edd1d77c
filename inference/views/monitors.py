"""Dashboard pages of monitors: create one, its chart of label shares, its alert rules and alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from inference import selectors
from inference.models import Monitor, RuleKind
from inference.services import monitors
from projects.views.base import ProjectTenantView
from tenants.errors import NotFound, ServiceError
from tenants.listing import page_of
from tenants.models import Role

EVENTS_PER_PAGE = 25


class _MonitorView(ProjectTenantView):
    write_role = Role.MEMBER

    def get_monitor(self) -> Monitor:
        monitor = selectors.monitor_of(
            tenant=self.tenant, project_id=self.kwargs["project_id"], monitor_id=self.kwargs["monitor_id"]
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
            monitor = monitors.monitor_create(tenant=self.tenant, project_id=project.pk, name=name[:100])
        except ServiceError as error:
            messages.error(request, error.message)
            return self.back()
        messages.success(request, f"Monitor “{monitor.name}” created. Post events to it with the API.")
        return self.back(monitor)


class MonitorDetailView(_MonitorView, TemplateView):
    breadcrumb = "Monitor"
    template_name = "inference/monitor.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        monitor = self.get_monitor()
        since = timezone.now() - timedelta(hours=24)
        series = selectors.label_series(tenant=self.tenant, monitor=monitor, since=since, bucket="hour")
        version = selectors.active_version(project=monitor.project)
        event_label = self.request.GET.get("label", "").strip()
        chart = _chart(series)
        context.update(
            project=monitor.project,
            monitor=monitor,
            can_write=self.can_write,
            chart=chart,
            events_last_24h=sum(bucket["total"] for bucket in series),
            rules=selectors.rules_of(tenant=self.tenant, monitor=monitor),
            alerts=selectors.alerts_of(tenant=self.tenant, monitor=monitor)[:50],
            label_names=version.label_names if version else [],
            rule_kinds=RuleKind.choices,
            events_url=self.request.build_absolute_uri(f"/api/v1/monitors/{monitor.pk}/events/"),
            event_label=event_label,
            event_labels=sorted({*chart["labels"], *(version.label_names if version else [])}),
            listing=page_of(
                self.request,
                selectors.events_of(tenant=self.tenant, monitor=monitor, label=event_label),
                per_page=EVENTS_PER_PAGE,
            ),
        )
        return context


def _chart(series: list[dict[str, Any]]) -> dict[str, Any]:
    """The label-share series as the page's chart wants it: bucket times, and each label's share per bucket."""
    labels = sorted({name for bucket in series for name in bucket["labels"]})
    return {
        "buckets": [bucket["start"].strftime("%H:%M") for bucket in series],
        "labels": {name: [b["labels"].get(name, 0) / max(b["total"], 1) for b in series] for name in labels},
    }


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
            monitors.rule_create(tenant=self.tenant, monitor=monitor, **data)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Alert rule added.")
        return self.back(monitor)


class RuleDeleteView(_MonitorView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        monitor = self.get_monitor()
        try:
            monitors.rule_delete(tenant=self.tenant, monitor=monitor, rule_id=kwargs["rule_id"])
        except NotFound as error:
            raise Http404(error.message) from None
        messages.success(request, "Alert rule deleted.")
        return self.back(monitor)
