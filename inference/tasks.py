"""Serving tasks: thin; the work is in inference.services.batches."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from inference.services.batches import batch_fail_lost, batch_run
from inference.services.monitors import events_purge_expired
from tenants import db


class _BatchTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        with db.tenant_context(kwargs["tenant_id"]):
            batch_fail_lost(tenant_id=kwargs["tenant_id"], batch_id=kwargs["batch_id"])


@shared_task(
    base=_BatchTask, name="inference.run_batch_prediction", queue="default", acks_late=True, reject_on_worker_lost=True
)
def run_batch_prediction(*, tenant_id: str, batch_id: str) -> str | None:
    """Predict a batch job's file; running it twice predicts and bills once."""
    with db.tenant_context(tenant_id):
        job = batch_run(tenant_id=tenant_id, batch_id=batch_id)
    return None if job is None else job.status


@shared_task(name="inference.purge_monitor_events", queue="default")
def purge_monitor_events() -> int:
    """Raw monitor events past MONITOR_EVENT_RETENTION_DAYS go (hourly, from beat)."""
    return events_purge_expired()
