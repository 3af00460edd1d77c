"""The dispatcher and the sweeper: system-wide, so they run in a system database context."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from billing.selectors import limit_of
from tenants import db
from training.models import RunStatus, TrainingRun
from training.services.runs import run_finish

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


def _active_filter() -> Q:
    return Q(status=RunStatus.RUNNING) | Q(status=RunStatus.QUEUED, dispatched_at__isnull=False)


def _cap(tenant_id: UUID) -> int:
    """How many runs the tenant may have at once: its plan's limit, else TRAINING_MAX_RUNNING_PER_TENANT."""
    return int(limit_of(tenant_id=tenant_id, name="training_max_running"))


def dispatch_queued_runs() -> list[tuple[str, str, str]]:
    """Hand queued runs to workers, round-robin over tenants, each within its cap.

    Returns (tenant_id, run_id, dispatch_id) of each run handed over; the caller enqueues them after
    commit. Runs in one transaction with the rows locked, so two dispatchers never hand a run twice.
    """
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
        caps = {tenant_id: _cap(tenant_id) for tenant_id in order}
        now = timezone.now()
        while True:
            progressed = False
            for tenant_id in order:
                queue = per_tenant[tenant_id]
                if queue and active.get(tenant_id, 0) < caps[tenant_id]:
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
                run_finish(run, RunStatus.CANCELLED, "cancelled", "Cancelled.")
            elif run.attempts >= settings.TRAINING_MAX_ATTEMPTS:
                run_finish(
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
