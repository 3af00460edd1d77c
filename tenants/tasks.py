from __future__ import annotations

from typing import Any

from celery import shared_task

from tenants.services.files import files_delete


@shared_task(
    name="tenants.delete_files",
    queue="default",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=10,
    retry_backoff_max=3600,
    max_retries=None,
    ignore_result=True,
)
def delete_files(
    *, paths: list[str] | None = None, prefixes: list[str] | None = None, local_copies: dict[str, Any] | None = None
) -> None:
    """Delete deleted rows' files for good; on any failure it raises and runs again later, until done."""
    files_delete(paths=paths or (), prefixes=prefixes or (), local_copies=local_copies)
