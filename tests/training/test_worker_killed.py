"""A worker killed with SIGKILL mid-training: its run resumes from its checkpoint on another worker.

In a module of its own, so that no other worker is alive to pick the run up first."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from tests.factories import get, start_run, wait_for
from training.models import RunStatus, TrainingRun
from training.services import sweep_stale_runs

pytestmark = pytest.mark.worker


@override_settings(TRAINING_HEARTBEAT_TIMEOUT_S=3)
def test_a_run_whose_worker_is_killed_resumes_from_its_checkpoint_on_another_worker(
    transactional_db, tenant, key_client, start_worker
):
    client = key_client(tenant)
    first = start_worker("doomed-worker")
    run = start_run(client, tenant, rows=800, epochs=3, batch_size=16, learning_rate=3e-3)
    wait_for(lambda: len(get(client, run)["history"]) >= 1, 180, "a first checkpointed epoch")
    assert TrainingRun.objects.for_tenant(tenant).get(pk=run["id"]).worker == first.hostname

    first.kill()
    killed_at = time.monotonic()
    assert get(client, run)["status"] == "running"
    # The sweeper (every 30 s from beat in production) puts it back once its heartbeat is stale.
    wait_for(lambda: sweep_stale_runs() == [run["id"]], 30, "the sweeper to notice the silent worker")
    assert get(client, run)["status"] == "queued"
    start_worker("rescue-worker")
    from training.tasks import dispatch_training

    dispatch_training.delay()
    second_life = wait_for(
        lambda: (r := get(client, run))["attempts"] == 2 and r["progress"].get("phase") == "training" and r,
        120,
        "the second worker to train",
    )
    assert second_life["progress"]["epoch"] >= 2  # it went on from the checkpoint, not from the start
    done = wait_for(lambda: (r := get(client, run))["status"] in ("succeeded", "failed") and r, 180, "the resume")

    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert time.monotonic() - killed_at < 120 + 60  # back to work well within two minutes, then finished
    resumed = TrainingRun.objects.for_tenant(tenant).get(pk=run["id"])
    assert [entry["epoch"] for entry in resumed.history] == list(range(1, len(resumed.history) + 1))
    assert resumed.status == RunStatus.SUCCEEDED
