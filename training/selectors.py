"""Reads for training runs and model versions."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from projects.models import Project
from tenants import db
from tenants.models import Tenant
from training.models import ModelVersion, RunStatus, TrainingRun


def queue_positions(*, runs: Iterable[TrainingRun]) -> dict[UUID, int]:
    """How many runs of all tenants wait ahead of each queued run of ``runs``, in one query.

    Only queued runs are keys (a run that is not queued has no position). The count spans every
    tenant's queue, so it runs in a system context; what leaves here is a number per run only.
    """
    queued = [run.pk for run in runs if run.status == RunStatus.QUEUED]
    if not queued:
        return {}
    with db.system_context():
        ahead = (
            TrainingRun.all_tenants.filter(status=RunStatus.QUEUED, created_at__lt=OuterRef("created_at"))
            .order_by()
            .values("status")
            .annotate(n=Count("pk"))
            .values("n")
        )
        rows = (
            TrainingRun.all_tenants.filter(pk__in=queued)
            .order_by()
            .annotate(ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), 0))
            .values_list("pk", "ahead")
        )
        return dict(rows)


def queue_position(*, run: TrainingRun) -> int | None:
    """How many runs of all tenants wait ahead of this one (None unless it is queued)."""
    if run.status != RunStatus.QUEUED:
        return None
    return queue_positions(runs=[run]).get(run.pk)


def runs_of(*, tenant: Tenant, project: Project) -> QuerySet[TrainingRun]:
    """A project's runs, newest first, with their datasets."""
    return TrainingRun.objects.for_tenant(tenant).filter(project=project).select_related("dataset")


def run_of(*, tenant: Tenant, project_id: object, run_id: object) -> TrainingRun | None:
    return (
        TrainingRun.objects.for_tenant(tenant)
        .select_related("project", "dataset")
        .filter(pk=run_id, project_id=project_id)
        .first()
    )


def versions_of(*, tenant: Tenant, project: Project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.for_tenant(tenant).filter(project=project)


def version_of_run(*, tenant: Tenant, run: TrainingRun) -> ModelVersion | None:
    return ModelVersion.objects.for_tenant(tenant).filter(training_run=run).first()


def has_succeeded_run(*, tenant: Tenant, project: Project) -> bool:
    return TrainingRun.objects.for_tenant(tenant).filter(project=project, status=RunStatus.SUCCEEDED).exists()


def has_deployed_version(*, tenant: Tenant, project: Project) -> bool:
    return ModelVersion.objects.for_tenant(tenant).filter(project=project, is_active=True).exists()
