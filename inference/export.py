"""Serving's part of a tenant's data export: each monitor with its alert rules."""

from __future__ import annotations

from django.db.models import Prefetch

from inference.models import AlertRule, Monitor
from projects.export import project_folder
from tenants.export import ExportArchive
from tenants.models import Tenant


def write_monitors(tenant: Tenant, archive: ExportArchive) -> None:
    rules = AlertRule.objects.for_tenant(tenant).order_by("created_at")
    monitors = (
        Monitor.objects.for_tenant(tenant)
        .select_related("project")
        .prefetch_related(Prefetch("rules", queryset=rules))
        .order_by("created_at")
    )
    for monitor in monitors:
        archive.add_json(
            f"{project_folder(monitor.project)}/monitors/{monitor.pk}.json",
            {
                "id": monitor.pk,
                "name": monitor.name,
                "is_active": monitor.is_active,
                "created_at": monitor.created_at,
                "alert_rules": [
                    {
                        "id": rule.pk,
                        "name": rule.name,
                        "kind": rule.kind,
                        "label": rule.label,
                        "threshold": rule.threshold,
                        "min_events": rule.min_events,
                        "window_minutes": rule.window_minutes,
                        "baseline_minutes": rule.baseline_minutes,
                        "is_active": rule.is_active,
                        "created_at": rule.created_at,
                    }
                    for rule in monitor.rules.all()
                ],
            },
            description="A monitor and its alert rules.",
        )


def summarize_monitors(tenant: Tenant) -> str:
    monitors = Monitor.objects.for_tenant(tenant).count()
    rules = AlertRule.objects.for_tenant(tenant).count()
    return f"{monitors} monitors, {rules} alert rules"
