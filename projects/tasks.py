from __future__ import annotations

from celery import shared_task

from projects.services.datasets import dataset_check_stored
from tenants import db


@shared_task(name="projects.check_dataset", acks_late=True, reject_on_worker_lost=True)
def check_dataset(*, tenant_id: str, dataset_id: str) -> str | None:
    """The data check of a large upload, with progress; running it twice checks once."""
    with db.tenant_context(tenant_id):
        dataset = dataset_check_stored(tenant_id=tenant_id, dataset_id=dataset_id)
    return None if dataset is None else dataset.status
