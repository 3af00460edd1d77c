"""Writes for training runs and model versions.

The database is the training queue. ``run_create`` records a queued run; ``dispatch_queued_runs``
hands queued runs to the ``training`` Celery queue one tenant at a time, never more than a tenant's
cap at once, so a tenant with fifty runs queued cannot starve one with a single run; workers claim a
run with a conditional update (one row changed, or someone else has it); ``sweep_stale_runs`` puts
back runs whose worker stopped sending heartbeats (killed, out of memory, machine gone), to resume
from their last checkpoint, or fails them after ``TRAINING_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from projects.models import Dataset, DatasetStatus, Project
from tenants import db
from tenants.errors import Conflict, InvalidInput, NotFound
from tenants.models import Tenant
from training import signals
from training.engine.base_models import UnknownBaseModel, resolve, token_counter
from training.models import Method, ModelVersion, RunStatus, TrainingRun
from webhooks.models import EventType
from webhooks.services import emit_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# What a customer may set, with the bounds that keep a run sane. Unset ones come from the engine's
# defaults for the dataset's size.
HYPERPARAMETER_BOUNDS: dict[str, tuple[type, float, float]] = {
    "epochs": (int, 1, 50),
    "learning_rate": (float, 1e-6, 1e-2),
    "batch_size": (int, 1, 512),
    "max_length": (int, 8, 512),
    "seed": (int, 0, 2**31 - 1),
}


def _clean_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in HYPERPARAMETER_BOUNDS:
            raise InvalidInput(f"Unknown setting {name!r}.", field=name)
        kind, low, high = HYPERPARAMETER_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and int(value) != value):
            raise InvalidInput(f"{name} must be {'an integer' if kind is int else 'a number'}.", field=name)
        if not low <= value <= high:
            raise InvalidInput(f"{name} must be between {low:g} and {high:g}.", field=name)
        cleaned[name] = kind(value)
    return cleaned


@transaction.atomic
def run_create(
    *,
    tenant: Tenant,
    project: Project,
    dataset_id: UUID,
    base_model: str | None = None,
    method: str = Method.FULL,
    created_by: User | None = None,
    **hyperparameters: Any,
) -> TrainingRun:
    dataset = Dataset.objects.for_tenant(tenant).filter(pk=dataset_id, project=project).first()
    if dataset is None:
        raise NotFound("No such dataset in this project.", field="dataset_id")
    if dataset.status != DatasetStatus.READY:
        reason = (
            "is still being checked"
            if dataset.status == DatasetStatus.CHECKING
            else (f"has {dataset.report.get('errors', 0)} blocking problem(s) in its data check")
        )
        raise Conflict(
            f"Dataset {dataset.name} v{dataset.version} {reason}: it cannot be trained on yet.", field="dataset_id"
        )
    if method not in Method.values:
        raise InvalidInput(f"Unknown method {method!r}; use one of {', '.join(Method.values)}.", field="method")
    name = base_model or settings.DEFAULT_BASE_MODEL
    try:
        resolve(name, settings.TUNEBASE_BASE_MODELS)
    except UnknownBaseModel as error:
        raise InvalidInput(str(error), field="base_model") from None
    run = TrainingRun.all_tenants.create(
        tenant=tenant,
        project=project,
        dataset=dataset,
        base_model=name,
        method=method,
        hyperparameters=_clean_hyperparameters(hyperparameters),
        created_by=created_by,
        progress={"phase": "queued"},
    )
    transaction.on_commit(_dispatch_soon)
    return run


def _dispatch_soon() -> None:
    from training.tasks import dispatch_training

    dispatch_training.delay()


@transaction.atomic
def run_cancel(*, tenant: Tenant, run_id: UUID) -> TrainingRun:
    run = TrainingRun.objects.for_tenant(tenant).select_for_update().filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such training run.")
    if run.is_finished:
        raise Conflict(f"The run has already {run.status}.")
    if run.status == RunStatus.QUEUED:
        # Not started: nothing to stop. A hand-over already in the broker finds it cancelled and does nothing.
        _finish(run, RunStatus.CANCELLED, "cancelled", "Cancelled before it started.")
    else:
        run.cancel_requested = True  # the worker polls this and stops within seconds
        run.save(update_fields=["cancel_requested"])
    return run


_RUN_EVENTS = {
    RunStatus.SUCCEEDED: EventType.TRAINING_RUN_SUCCEEDED,
    RunStatus.FAILED: EventType.TRAINING_RUN_FAILED,
    RunStatus.CANCELLED: EventType.TRAINING_RUN_CANCELLED,
}


def _finish(run: TrainingRun, status: str, code: str = "", message: str = "", **event: Any) -> None:
    """End a run and tell the tenant's webhooks, in the caller's transaction."""
    run.status = status
    run.error_code = code
    run.error_message = message
    run.finished_at = timezone.now()
    run.progress = {**run.progress, "phase": status}
    run.save(update_fields=["status", "error_code", "error_message", "finished_at", "progress"])
    data = {"training_run_id": str(run.pk), "project_id": str(run.project_id), "status": status, **event}
    if status == RunStatus.FAILED:
        data["error"] = {"code": code, "message": message}
    emit_event(tenant=run.tenant_id, event_type=_RUN_EVENTS[RunStatus(status)], data=data)


# --- the dispatcher and the sweeper (system-wide: they run in a system database context) -----------------


def _active_filter() -> Q:
    return Q(status=RunStatus.RUNNING) | Q(status=RunStatus.QUEUED, dispatched_at__isnull=False)


def dispatch_queued_runs() -> list[tuple[str, str, str]]:
    """Hand queued runs to workers, round-robin over tenants, each within its cap.

    Returns (tenant_id, run_id, dispatch_id) of each run handed over; the caller enqueues them after
    commit. Runs in one transaction with the rows locked, so two dispatchers never hand a run twice.
    """
    cap = settings.TRAINING_MAX_RUNNING_PER_TENANT
    handed: list[tuple[str, str, str]] = []
    with db.system_context(), transaction.atomic():
        active = dict(TrainingRun.all_tenants.filter(_active_filter()).values_list("tenant_id").annotate(n=Count("id")))
        waiting = (
            TrainingRun.all_tenants.filter(status=RunStatus.QUEUED, dispatched_at__isnull=True)
            .select_for_update(skip_locked=True)
            .order_by("created_at")
        )
        per_tenant: dict[UUID, list[TrainingRun]] = {}
        for run in waiting:
            per_tenant.setdefault(run.tenant_id, []).append(run)
        # Round-robin: each pass gives every tenant under its cap one more run, oldest waiting tenant first.
        order = sorted(per_tenant, key=lambda t: per_tenant[t][0].created_at)
        now = timezone.now()
        while True:
            progressed = False
            for tenant_id in order:
                queue = per_tenant[tenant_id]
                if queue and active.get(tenant_id, 0) < cap:
                    run = queue.pop(0)
                    run.dispatch_id = uuid.uuid4()
                    run.dispatched_at = now
                    run.progress = {**run.progress, "phase": "waiting for a worker"}
                    run.save(update_fields=["dispatch_id", "dispatched_at", "progress"])
                    active[tenant_id] = active.get(tenant_id, 0) + 1
                    handed.append((str(tenant_id), str(run.pk), str(run.dispatch_id)))
                    progressed = True
            if not progressed:
                break
    return handed


def sweep_stale_runs() -> list[str]:
    """Put back runs whose worker went silent; fail those out of attempts. Returns the runs touched."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT_S)
    lost_before = now - timedelta(seconds=settings.TRAINING_DISPATCH_TIMEOUT_S)
    touched: list[str] = []
    with db.system_context(), transaction.atomic():
        silent = TrainingRun.all_tenants.select_for_update(skip_locked=True).filter(
            Q(status=RunStatus.RUNNING, heartbeat_at__lt=stale_before)
            # handed to the broker but never claimed: the message was lost (or its worker died first)
            | Q(status=RunStatus.QUEUED, dispatched_at__lt=lost_before)
        )
        for run in silent:
            touched.append(str(run.pk))
            if run.status == RunStatus.RUNNING and run.cancel_requested:
                _finish(run, RunStatus.CANCELLED, "cancelled", "Cancelled.")
            elif run.attempts >= settings.TRAINING_MAX_ATTEMPTS:
                _finish(
                    run,
                    RunStatus.FAILED,
                    "worker_lost",
                    f"The worker running this training stopped responding {run.attempts} times (for example it "
                    "ran out of memory or its machine was restarted). Try again, or with a smaller batch size.",
                )
            else:
                logger.warning(
                    "training run %s lost its worker (%s); queueing it again to resume",
                    run.pk,
                    run.worker or "never claimed",
                )
                run.status = RunStatus.QUEUED
                run.dispatch_id = None
                run.dispatched_at = None
                run.progress = {**run.progress, "phase": "queued to resume"}
                run.save(update_fields=["status", "dispatch_id", "dispatched_at", "progress"])
    return touched


# --- the worker's side ------------------------------------------------------------------------------------


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
) -> ModelVersion:
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
    _finish(
        run,
        RunStatus.SUCCEEDED,
        model_version_id=str(version.pk),
        version=version.version,
        macro_f1=metrics.get("macro_f1"),
        accuracy=metrics.get("accuracy"),
    )
    if first_served:
        _announce_deployed(version)
    return version


def run_fail(*, tenant_id: str, run_id: str, code: str, message: str, cancelled: bool = False) -> None:
    with transaction.atomic():
        run = TrainingRun.objects.for_tenant(tenant_id).select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return
        _finish(run, RunStatus.CANCELLED if cancelled else RunStatus.FAILED, code, message)


@transaction.atomic
def model_deploy(*, tenant: Tenant, version_id: UUID) -> ModelVersion:
    """Make this version the one the project serves (also how a rollback is done)."""
    version = ModelVersion.objects.for_tenant(tenant).select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound("No such model version.")
    if not version.is_active:
        ModelVersion.objects.for_tenant(tenant).filter(project_id=version.project_id, is_active=True).update(
            is_active=False
        )
        version.is_active = True
        version.deployed_at = timezone.now()
        version.save(update_fields=["is_active", "deployed_at"])
        _announce_deployed(version)
        transaction.on_commit(lambda: signals.model_deployed.send(sender=ModelVersion, version=version))
    return version


def _announce_deployed(version: ModelVersion) -> None:
    emit_event(
        tenant=version.tenant_id,
        event_type=EventType.MODEL_DEPLOYED,
        data={"model_version_id": str(version.pk), "project_id": str(version.project_id), "version": version.version},
    )


def default_token_counter() -> Callable[[list[str]], list[int]] | None:
    """Counts tokens as the default base model's tokenizer does; None when that model is not installed."""
    try:
        return token_counter(resolve(settings.DEFAULT_BASE_MODEL, settings.TUNEBASE_BASE_MODELS))
    except UnknownBaseModel:
        logger.warning("base model %s unavailable: token lengths not measured", settings.DEFAULT_BASE_MODEL)
        return None
