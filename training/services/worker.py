"""A worker's side of a run: claim it, beat, and record how it ended (a succeeded run stores its version)."""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from billing.models import UsageKind, UsageSource
from billing.services import usage_record
from training.models import ModelVersion, RunStatus, TrainingRun
from training.services.runs import run_finish
from training.services.versions import announce_deployed


def _bill(run: TrainingRun, compute_seconds: float) -> None:
    """The worker's compute time of the attempt that ended the run, rounded up to a whole second."""
    if compute_seconds > 0:
        usage_record(
            tenant_id=run.tenant_id,
            kind=UsageKind.TRAINING_SECONDS,
            quantity=max(1, math.ceil(compute_seconds)),
            source=UsageSource.TRAINING,
            project_id=run.project_id,
            training_run=run,
        )


def run_claim(*, tenant_id: str, run_id: str, dispatch_id: str, worker: str) -> TrainingRun | None:
    """The run, now running on this worker, if this hand-over is still the current one; else None."""
    now = timezone.now()
    claimed = (
        TrainingRun.objects.for_tenant(tenant_id)
        .filter(pk=run_id, status=RunStatus.QUEUED, dispatch_id=dispatch_id)
        .update(status=RunStatus.RUNNING, worker=worker[:200], heartbeat_at=now, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return None
    run = TrainingRun.objects.for_tenant(tenant_id).select_related("project", "dataset").get(pk=run_id)
    if run.started_at is None:
        TrainingRun.objects.for_tenant(tenant_id).filter(pk=run_id).update(started_at=now)
        run.started_at = now
    return run


def run_heartbeat(*, tenant_id: str, run_id: str, **fields: Any) -> bool:
    """Record liveness (and any progress fields); returns whether a cancel was asked for."""
    TrainingRun.objects.for_tenant(tenant_id).filter(pk=run_id, status=RunStatus.RUNNING).update(
        heartbeat_at=timezone.now(), **fields
    )
    return bool(
        TrainingRun.objects.for_tenant(tenant_id).filter(pk=run_id).values_list("cancel_requested", flat=True).first()
    )


@transaction.atomic
def run_succeed(
    *,
    run: TrainingRun,
    artifact_path: str,
    size_bytes: int,
    label_names: list[str],
    thresholds: dict[str, float],
    metrics: dict[str, Any],
    history: list[dict[str, Any]],
    serving_precision: str = "fp32",
    parity: dict[str, Any] | None = None,
    compute_seconds: float = 0.0,
) -> ModelVersion:
    """Store the trained version and end the run; bill its ``compute_seconds``, in the same transaction."""
    latest = (
        ModelVersion.objects.for_tenant(run.tenant_id)
        .filter(project_id=run.project_id)
        .aggregate(v=Max("version"))["v"]
    )
    # A project that serves nothing yet serves its first model at once: there is nothing to break,
    # and its predict API and try-it box work without a further step. Later versions wait for a deploy.
    first_served = (
        not ModelVersion.objects.for_tenant(run.tenant_id).filter(project_id=run.project_id, is_active=True).exists()
    )
    version = ModelVersion.all_tenants.create(
        tenant_id=run.tenant_id,
        project_id=run.project_id,
        training_run=run,
        version=(latest or 0) + 1,
        base_model=run.base_model,
        method=run.method,
        multi_label=run.project.multi_label or bool(run.dataset and run.dataset.multi_label),
        artifact_path=artifact_path,
        size_bytes=size_bytes,
        label_names=label_names,
        thresholds=thresholds,
        metrics=metrics,
        serving_precision=serving_precision,
        parity=parity or {},
        is_active=first_served,
        deployed_at=timezone.now() if first_served else None,
    )
    run.metrics = metrics
    run.history = history
    run.save(update_fields=["metrics", "history"])
    run_finish(
        run,
        RunStatus.SUCCEEDED,
        model_version_id=str(version.pk),
        version=version.version,
        macro_f1=metrics.get("macro_f1"),
        accuracy=metrics.get("accuracy"),
    )
    _bill(run, compute_seconds)
    if first_served:
        announce_deployed(version)
    return version


def run_fail(
    *, tenant_id: str, run_id: str, code: str, message: str, cancelled: bool = False, compute_seconds: float = 0.0
) -> None:
    """End the run as failed or cancelled. A cancelled run bills the ``compute_seconds`` it used; a failed
    one bills nothing (whoever's fault it was, the customer got no model)."""
    with transaction.atomic():
        run = TrainingRun.objects.for_tenant(tenant_id).select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return
        run_finish(run, RunStatus.CANCELLED if cancelled else RunStatus.FAILED, code, message)
        if cancelled:
            _bill(run, compute_seconds)
