"""Training tasks: thin; the work is in training.services and training.runner."""

from __future__ import annotations

import socket

from celery import Task, shared_task
from django.conf import settings

from tenants import db
from training import runner
from training.services import dispatch_queued_runs, run_claim, sweep_stale_runs


@shared_task(
    bind=True,
    name="training.tasks.train",
    queue="training",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT_S,
    soft_time_limit=settings.TRAINING_HARD_TIME_LIMIT_S - 60,
)
def train(self: Task, *, tenant_id: str, run_id: str, dispatch_id: str) -> str:
    """Claim the run (only this hand-over of it) and train it. Running it twice trains once."""
    with db.tenant_context(tenant_id):
        run = run_claim(
            tenant_id=tenant_id,
            run_id=run_id,
            dispatch_id=dispatch_id,
            worker=self.request.hostname or socket.gethostname(),
        )
        if run is None:
            return "not claimed"
        version = runner.execute(run)
    dispatch_training.delay()  # a slot of this tenant is free: hand over its next run, if any
    return "succeeded" if version is not None else "ended"


@shared_task(name="training.tasks.dispatch_training", queue="default")
def dispatch_training() -> int:
    handed = dispatch_queued_runs()
    for tenant_id, run_id, dispatch_id in handed:
        train.delay(tenant_id=tenant_id, run_id=run_id, dispatch_id=dispatch_id)
    return len(handed)


@shared_task(name="training.tasks.sweep_training", queue="default")
def sweep_training() -> int:
    touched = sweep_stale_runs()
    if touched:
        dispatch_training.delay()
    return len(touched)
