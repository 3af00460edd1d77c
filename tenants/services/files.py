"""Deleting a tenant's files for good: once the delete of their rows commits, a task deletes every stored
file under the given folders and the local copies kept of them, retrying until nothing is left."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import router, transaction
from django.db.models import Model
from django.db.models.deletion import Collector

# Local copies of stored files that workers and web processes keep, one folder per row, named after
# its id: a model version's files fetched from remote storage (INFERENCE_ARTIFACT_DIR/<version id>) and a
# training run's checkpoints (TRAINING_WORK_DIR/<run id>). The models are named by label: the kernel
# imports no app above it.
LOCAL_COPIES = {
    "training.modelversion": "INFERENCE_ARTIFACT_DIR",
    "training.trainingrun": "TRAINING_WORK_DIR",
}


def _stored_under(prefix: str) -> list[str]:
    try:  # object storage lists a prefix without any object of that name, so no exists() first
        directories, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    found = [f"{prefix}/{name}" for name in files]
    for directory in directories:
        found += _stored_under(f"{prefix}/{directory}")
    return found


def _remove_empty_folder(prefix: str) -> None:
    try:
        folder = Path(default_storage.path(prefix))
    except NotImplementedError:  # object storage: no folders once the files are gone
        return
    if folder.exists():
        shutil.rmtree(folder)


def files_delete(
    *, paths: Iterable[str] = (), prefixes: Iterable[str] = (), local_copies: dict[str, list[str]] | None = None
) -> None:
    """Delete now: the stored files, every stored file under the prefixes, and the local copies
    (``{setting naming a folder: [row ids]}``). Raises on the first failure; running it again resumes."""
    for path in paths:
        default_storage.delete(path)
    for prefix in prefixes:
        for path in _stored_under(prefix.rstrip("/")):
            default_storage.delete(path)
        _remove_empty_folder(prefix.rstrip("/"))
    for setting, ids in (local_copies or {}).items():
        base = Path(getattr(settings, setting))
        for row_id in ids:
            folder = base / str(UUID(row_id))  # an id, never a path that climbs out of the folder
            if folder.exists():
                shutil.rmtree(folder)


def files_delete_later(
    *, paths: Iterable[str] = (), prefixes: Iterable[str] = (), local_copies: dict[str, list[str]] | None = None
) -> None:
    """Queue :func:`files_delete` for when the current transaction commits (nothing if it rolls back)."""
    from tenants.tasks import delete_files

    files, folders, copies = list(paths), list(prefixes), dict(local_copies or {})
    if files or folders or copies:
        transaction.on_commit(lambda: delete_files.delay(paths=files, prefixes=folders, local_copies=copies))


def delete_with_files(row: Model, *, prefixes: Iterable[str] = (), paths: Iterable[str] = ()) -> None:
    """Delete a row with everything that cascades from it, then (after commit) its stored files under
    ``prefixes`` and the local copies of the rows that went with it."""
    collector = Collector(using=router.db_for_write(type(row)))
    collector.collect([row])
    local_copies: dict[str, list[str]] = {}
    for model, instances in collector.data.items():
        setting = LOCAL_COPIES.get(model._meta.label_lower)
        if setting and instances:
            local_copies.setdefault(setting, []).extend(str(instance.pk) for instance in instances)
    collector.delete()
    files_delete_later(paths=paths, prefixes=prefixes, local_copies=local_copies)
