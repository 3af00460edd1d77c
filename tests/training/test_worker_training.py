"""Training end to end through the API and real worker processes, on the tiny BERT: success, live
progress, cancel, and a worker killed with SIGKILL whose run resumes from its checkpoint elsewhere."""

from __future__ import annotations

import time

import pytest
from django.core.files.storage import default_storage

from billing.models import UsageRecord
from config.celery import ping
from tests.factories import get, start_run, wait_for
from training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.worker


def test_a_run_trains_on_a_worker_and_makes_a_deployable_version(
    transactional_db, tenant, key_client, celery_worker_process
):
    client = key_client(tenant)
    run = start_run(client, tenant, rows=200, epochs=3, learning_rate=3e-3, batch_size=16)

    done = wait_for(lambda: (r := get(client, run))["status"] in ("succeeded", "failed") and r, 180, "the run")

    assert done["status"] == "succeeded", done["error"]
    assert len(done["history"]) >= 1 and done["progress"]["phase"] == "succeeded"
    version = ModelVersion.objects.for_tenant(tenant).get(pk=done["model_version"])
    assert sorted(version.label_names) == ["card", "refund"]
    assert "macro_f1" in version.metrics
    assert version.artifact_path.startswith(f"tenants/{tenant.pk}/projects/")
    assert default_storage.exists(f"{version.artifact_path}/tunebase.json")
    assert client.post(f"/api/v1/models/{version.pk}/deploy/").json()["is_active"] is True
    # Billed: the worker's compute seconds, rounded up, within the run's time on the worker.
    trained = TrainingRun.objects.for_tenant(tenant).get(pk=run["id"])
    billed = UsageRecord.objects.for_tenant(tenant).get(kind="training_seconds")
    assert (billed.source, billed.training_run_id) == ("training", trained.pk)
    assert 1 <= billed.quantity <= (trained.finished_at - trained.started_at).total_seconds() + 1


def test_cancel_stops_a_running_training_within_seconds_and_frees_the_worker(
    transactional_db, tenant, key_client, celery_worker_process
):
    client = key_client(tenant)
    run = start_run(client, tenant, rows=2000, epochs=50, batch_size=8)
    wait_for(lambda: get(client, run)["progress"].get("step", 0) > 0, 120, "training steps")

    client.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    asked = time.monotonic()
    wait_for(lambda: get(client, run)["status"] == "cancelled", 30, "the cancel")

    assert time.monotonic() - asked < 15
    assert ping.delay(time.time()).get(timeout=30)["pong"] is True  # the worker took the next task
    cancelled = TrainingRun.objects.for_tenant(tenant).get(pk=run["id"])
    billed = UsageRecord.objects.for_tenant(tenant).get(kind="training_seconds")  # the seconds it used
    assert 1 <= billed.quantity <= (cancelled.finished_at - cancelled.started_at).total_seconds() + 1
