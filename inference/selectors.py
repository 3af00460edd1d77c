"""Reads for serving."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, QuerySet
from django.db.models.functions import Trunc

from inference.models import (
    Alert,
    AlertRule,
    BatchPrediction,
    BatchStatus,
    Feedback,
    FeedbackStatus,
    Monitor,
    MonitorEvent,
)
from projects.models import Project
from tenants import lookups
from tenants.errors import Conflict, InvalidInput
from tenants.models import Tenant
from training.models import ModelVersion

BUCKETS = ("minute", "hour", "day")

_served: lookups.LookupCache[ModelVersion] = lookups.LookupCache()


def active_version(*, project: Project) -> ModelVersion | None:
    """The version the project serves now, read from the database (the dashboard's and batch jobs' way)."""
    return ModelVersion.objects.for_tenant(project.tenant_id).filter(project=project, is_active=True).first()


def deployed_version(project: Project) -> ModelVersion:
    """The active version, or the 409 that says there is none yet."""
    version = active_version(project=project)
    if version is None:
        raise Conflict(
            "This project has no deployed model yet: train one and deploy a version first.", code="no_model_deployed"
        )
    return version


def served_version(
    *, tenant_id: UUID | str, project_id: UUID | str, key_project_id: UUID | str | None = None
) -> ModelVersion | None:
    """The active version of a project with the project itself, in one query (the predict hot path).

    None when the project has no active version, does not exist, or is outside the key's project.
    """
    if key_project_id is not None and str(key_project_id) != str(project_id):
        return None

    def load() -> ModelVersion | None:
        # Not the evaluation report: with a confusion matrix it is the bulk of the row, decoded for nothing.
        versions = ModelVersion.objects.for_tenant(tenant_id).select_related("project").defer("metrics")
        return versions.filter(project_id=project_id, is_active=True).order_by().first()

    # Reused for a moment (tenants.lookups): a deploy shows here at once, on other processes within seconds.
    return _served.get((str(tenant_id), str(project_id)), load)


# --- monitors --------------------------------------------------------------------------------------------


def monitors_of(*, tenant: Tenant, project: Project) -> QuerySet[Monitor]:
    return Monitor.objects.for_tenant(tenant).filter(project=project)


def monitor_of(*, tenant: Tenant, project_id: UUID | str, monitor_id: UUID | str) -> Monitor | None:
    """One monitor of the project, with its project, or None."""
    monitors = Monitor.objects.for_tenant(tenant).select_related("project")
    return monitors.filter(project_id=project_id, pk=monitor_id).first()


def rules_of(*, tenant: Tenant, monitor: Monitor) -> QuerySet[AlertRule]:
    return AlertRule.objects.for_tenant(tenant).filter(monitor=monitor)


def alerts_of(*, tenant: Tenant, monitor: Monitor) -> QuerySet[Alert]:
    """The monitor's alerts, latest first."""
    return Alert.objects.for_tenant(tenant).filter(monitor=monitor)


def events_of(*, tenant: Tenant, monitor: Monitor, label: str = "") -> QuerySet[MonitorEvent]:
    """The monitor's events, latest first; only those whose top label is ``label`` when one is given."""
    events = MonitorEvent.objects.for_tenant(tenant).filter(monitor=monitor)
    if label:
        events = events.filter(label=label)
    return events.only("occurred_at", "text", "source", "label", "score").order_by("-occurred_at", "-pk")


def label_series(*, tenant: Tenant, monitor: Monitor, since: datetime, bucket: str = "hour") -> list[dict[str, Any]]:
    """Counts of each top label per time bucket since ``since``, oldest first (for the chart)."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}.", field="bucket")
    rows = (
        MonitorEvent.objects.for_tenant(tenant)
        .filter(monitor=monitor, occurred_at__gte=since)
        .annotate(bucket=Trunc("occurred_at", bucket))
        .values("bucket", "label")
        .annotate(n=Count("id"))
        .order_by("bucket")
    )
    series: dict[datetime, dict[str, int]] = {}
    for row in rows:
        series.setdefault(row["bucket"], {})[row["label"]] = row["n"]
    return [{"start": start, "total": sum(labels.values()), "labels": labels} for start, labels in series.items()]


# --- the organization's overview ---------------------------------------------------------------------------


def versions_since(*, tenant: Tenant, since: datetime) -> QuerySet[ModelVersion]:
    """Model versions trained since ``since``, with their projects, latest first (not their reports)."""
    versions = ModelVersion.objects.for_tenant(tenant).filter(created_at__gte=since).select_related("project")
    return versions.defer("metrics", "parity").order_by("-created_at")


def deployed_since(*, tenant: Tenant, since: datetime) -> QuerySet[ModelVersion]:
    """Model versions deployed since ``since`` (whether still served or not)."""
    return ModelVersion.objects.for_tenant(tenant).filter(deployed_at__gte=since)


def alerts_since(*, tenant: Tenant, since: datetime) -> QuerySet[Alert]:
    """Alerts fired since ``since``, with their monitors and projects, latest first (not their examples)."""
    alerts = Alert.objects.for_tenant(tenant).filter(window_end__gte=since).select_related("monitor__project")
    return alerts.defer("examples").order_by("-window_end")


# --- batch predictions -------------------------------------------------------------------------------------


def batches_of(*, tenant: Tenant, project: Project) -> QuerySet[BatchPrediction]:
    """The project's batch jobs, latest first."""
    return BatchPrediction.objects.for_tenant(tenant).filter(project=project)


def batches_filtered(*, tenant: Tenant, project: Project, status: str = "") -> QuerySet[BatchPrediction]:
    """The project's batch jobs of one status (all when ``status`` is empty), latest first."""
    if status and status not in BatchStatus.values:
        raise InvalidInput(f"Status must be one of {', '.join(BatchStatus.values)}.", field="status")
    jobs = batches_of(tenant=tenant, project=project)
    return (jobs.filter(status=status) if status else jobs).order_by("-created_at", "-pk")


def finished_batch(*, tenant: Tenant, project_id: UUID | str, batch_id: UUID | str) -> BatchPrediction | None:
    """A job of the project that has succeeded (its results exist), or None."""
    jobs = BatchPrediction.objects.for_tenant(tenant).filter(project_id=project_id, status=BatchStatus.SUCCEEDED)
    return jobs.filter(pk=batch_id).first()


# --- feedback ----------------------------------------------------------------------------------------------


def feedback_of(*, tenant: Tenant, project: Project, status: str | None = None) -> QuerySet[Feedback]:
    """The project's feedback, latest first; only of ``status`` when one is given."""
    feedback = Feedback.objects.for_tenant(tenant).filter(project=project)
    return feedback if status is None else feedback.filter(status=status)


REVIEW_STATUSES = ("pending", "accepted", "rejected", "all")


@dataclass(frozen=True)
class FeedbackFilter:
    """What the review list shows: a status (or ``all``), a label the model gave, text to search for."""

    status: str = FeedbackStatus.PENDING
    label: str = ""
    q: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> FeedbackFilter:
        """From a page's query (or a bulk form's fields); an unknown status is a clear 400."""
        status = (params.get("status") or FeedbackStatus.PENDING).strip()
        if status not in REVIEW_STATUSES:
            raise InvalidInput(f"Status must be one of {', '.join(REVIEW_STATUSES)}.", field="status")
        return cls(status=status, label=(params.get("label") or "").strip(), q=(params.get("q") or "").strip())


def feedback_filtered(*, tenant: Tenant, project: Project, where: FeedbackFilter) -> QuerySet[Feedback]:
    """The review list under a filter, latest first."""
    feedback = feedback_of(tenant=tenant, project=project, status=None if where.status == "all" else where.status)
    if where.label:
        feedback = feedback.filter(predicted_label=where.label)
    if where.q:
        feedback = feedback.filter(text__icontains=where.q)
    return feedback.order_by("-created_at", "-pk")


def feedback_status_counts(*, tenant: Tenant, project: Project) -> dict[str, int]:
    """How many texts of the project have each review status (every status, 0 when none)."""
    counts = dict.fromkeys(FeedbackStatus.values, 0)
    rows = feedback_of(tenant=tenant, project=project).order_by().values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def feedback_predicted_labels(*, tenant: Tenant, project: Project) -> list[str]:
    """The labels the model gave to texts of the review list (for its filter)."""
    labels = feedback_of(tenant=tenant, project=project).exclude(predicted_label="")
    return sorted(labels.order_by().values_list("predicted_label", flat=True).distinct())


def feedback_pending(*, tenant: Tenant, project: Project) -> QuerySet[Feedback]:
    """The review list: texts waiting for a person."""
    return feedback_of(tenant=tenant, project=project, status=FeedbackStatus.PENDING)


def feedback_reviewed_ready(*, tenant: Tenant, project: Project) -> QuerySet[Feedback]:
    """Accepted texts not yet added to a training dataset."""
    return feedback_of(tenant=tenant, project=project, status=FeedbackStatus.ACCEPTED).filter(dataset__isnull=True)
