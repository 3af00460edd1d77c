"""Training runs: create one (queued, dispatched after commit), cancel it, and finish it with its webhook event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import UsageKind
from billing.selectors import quota_check
from projects.models import Dataset, DatasetStatus, Project
from tenants.errors import Conflict, NotFound
from tenants.models import Tenant
from training.engine.base_models import UnknownBaseModel, resolve
from training.models import Method, RunStatus, TrainingRun
from training.services.run_settings import invalid, setting_errors
from webhooks.models import EventType
from webhooks.services import emit_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
    """Queue a run. Wrong settings (method, base model, hyperparameters) are refused together, in one
    ``InvalidInput`` whose ``details`` name each; then the dataset must be this project's, and ready."""
    settings_given, errors = setting_errors(hyperparameters)
    if method not in Method.values:
        errors.insert(
            0,
            {
                "field": "method",
                "code": "invalid",
                "message": (f"Unknown method {method!r}; use one of {', '.join(Method.values)}."),
            },
        )
    name = base_model or settings.DEFAULT_BASE_MODEL
    try:
        resolve(name, settings.TUNEBASE_BASE_MODELS)
    except UnknownBaseModel as error:
        errors.insert(0, {"field": "base_model", "code": "invalid", "message": str(error)})
    if errors:
        raise invalid(errors)
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
    # A run starts only while the period has training time left (it then runs to its end).
    quota_check(tenant_id=tenant.pk, kind=UsageKind.TRAINING_SECONDS, quantity=1)
    run = TrainingRun.all_tenants.create(
        tenant=tenant,
        project=project,
        dataset=dataset,
        base_model=name,
        method=method,
        hyperparameters=settings_given,
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
        run_finish(run, RunStatus.CANCELLED, "cancelled", "Cancelled before it started.")
    else:
        run.cancel_requested = True  # the worker polls this and stops within seconds
        run.save(update_fields=["cancel_requested"])
    return run


_RUN_EVENTS = {
    RunStatus.SUCCEEDED: EventType.TRAINING_RUN_SUCCEEDED,
    RunStatus.FAILED: EventType.TRAINING_RUN_FAILED,
    RunStatus.CANCELLED: EventType.TRAINING_RUN_CANCELLED,
}


def run_finish(run: TrainingRun, status: str, code: str = "", message: str = "", **event: Any) -> None:
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
