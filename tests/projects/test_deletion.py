"""Deleting a project deletes its files: every stored file under its folder (datasets, model weights,
the parity sample of raw training texts, batch inputs and results) and the local copies of its models
and checkpoints, from a task that runs after the delete commits and retries until it is done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

from inference.models import BatchPrediction
from tenants.storage import tenant_file_path
from tests.factories import GOOD, ProjectFactory, model_version, stored_files, upload


@pytest.fixture
def local_dirs(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    settings.INFERENCE_ARTIFACT_DIR = tmp_path / "models"
    settings.TRAINING_WORK_DIR = tmp_path / "training"
    return settings.INFERENCE_ARTIFACT_DIR, settings.TRAINING_WORK_DIR


def store(path: str, content: bytes = b"x") -> str:
    return default_storage.save(path, ContentFile(content))


def fill(project, local_dirs: tuple[Path, Path]) -> dict[str, Any]:
    """What a project gathers in use: a trained version (weights, its parity texts, a local copy of it and
    its run's checkpoints) and a finished batch (input and results)."""
    tenant_id, project_id = project.tenant_id, str(project.pk)
    version = model_version(project.tenant, project, 1)
    run_id = str(version.training_run_id)
    prefix = tenant_file_path(tenant_id, "projects", project_id, "models", run_id)
    version.artifact_path = prefix
    version.save(update_fields=["artifact_path"])
    weights = store(f"{prefix}/model.safetensors", b"weights")
    parity = store(f"{prefix}/parity_texts.json", b'["my card was charged twice"]')
    batch = BatchPrediction.all_tenants.create(
        tenant=project.tenant, project=project, name="in.csv", size_bytes=5, format="csv", text_column="text"
    )
    batch_dir = tenant_file_path(tenant_id, "projects", project_id, "batches", str(batch.pk))
    batch.input_file = store(f"{batch_dir}/input.csv", b"text\nhello\n")
    batch.result_file = store(f"{batch_dir}/results.csv", b"text,label\nhello,card\n")
    batch.save(update_fields=["input_file", "result_file"])
    models_dir, training_dir = local_dirs
    copy = models_dir / str(version.pk)
    checkpoint = training_dir / run_id / "checkpoints" / "step-10"
    for folder in (copy, checkpoint):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"weights")
    return {
        "stored": [weights, parity, batch.input_file, batch.result_file],
        "local": [copy, checkpoint.parent.parent],
    }


def test_deleting_a_project_deletes_its_stored_files_and_local_copies(
    tenant, project, key_client, local_dirs, run_tasks, django_capture_on_commit_callbacks
):
    client = key_client(tenant, scopes=("manage",))
    upload(client, project, GOOD)
    made = fill(project, local_dirs)
    kept_project = ProjectFactory(tenant=tenant, name="Refunds")
    kept = fill(kept_project, local_dirs)
    assert all(default_storage.exists(path) for path in made["stored"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 204
    gone = tenant_file_path(tenant.pk, "projects", str(project.pk))
    assert [path for path in stored_files(tenant) if path.startswith(gone)] == []
    assert not default_storage.exists(gone)
    assert [folder for folder in made["local"] if folder.exists()] == []
    # Another project's files stay.
    assert all(default_storage.exists(path) for path in kept["stored"])
    assert all(folder.exists() for folder in kept["local"])


def test_nothing_is_deleted_when_the_project_delete_rolls_back(tenant, project, local_dirs, run_tasks):
    from django.db import transaction

    from projects.services import project_delete

    made = fill(project, local_dirs)

    with pytest.raises(RuntimeError), transaction.atomic():
        project_delete(tenant=tenant, project_id=project.pk)
        raise RuntimeError("rolled back")

    assert all(default_storage.exists(path) for path in made["stored"])
    assert all(folder.exists() for folder in made["local"])


def test_a_failed_storage_delete_is_retried_until_done(tenant, project, local_dirs, monkeypatch):
    from tenants.tasks import delete_files

    made = fill(project, local_dirs)
    prefix = tenant_file_path(tenant.pk, "projects", str(project.pk))
    backend = type(storages["default"])
    real_delete = backend.delete
    failing = {"left": 1}

    def flaky_delete(storage: Any, name: str) -> None:
        if failing["left"]:
            failing["left"] -= 1
            raise OSError("storage unavailable")
        real_delete(storage, name)

    monkeypatch.setattr(backend, "delete", flaky_delete)
    with pytest.raises(OSError, match="storage unavailable"):  # the task raises: Celery retries it
        delete_files(prefixes=[prefix])
    assert stored_files(tenant)

    delete_files(prefixes=[prefix])  # the retry finishes the work

    assert [path for path in stored_files(tenant) if path.startswith(prefix)] == []
    assert all(not default_storage.exists(path) for path in made["stored"])
