"""A run's progress for its page: the training loss along the steps (bounded), kept across a resume and
after the run ends, with what the page needs to say which epoch was kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.factories import config, get, make_tiny_bert, separable, start_run, wait_for
from training import engine
from training.engine.progress import LossCurve
from training.models import TrainingRun
from training.runner import _Heartbeat


def test_the_loss_curve_keeps_every_step_at_first_then_merges_to_stay_bounded() -> None:
    curve = LossCurve(limit=300)
    for step in range(1, 11):
        curve.add(step, 1.0 / step)
    assert [point[0] for point in curve.snapshot()] == list(range(1, 11))  # the first steps, one point each

    for step in range(11, 100_001):
        curve.add(step, 0.5)
    points = curve.snapshot()

    assert 150 <= len(points) <= 301
    assert [p[0] for p in points] == sorted(p[0] for p in points) and points[-1][0] == 100_000
    assert all(p[1] == pytest.approx(0.5) for p in points[1:])  # means of their steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_progress_events_carry_the_step_losses_from_the_first_steps_on(tiny: Path, tmp_path: Path) -> None:
    events: list[engine.Progress] = []
    texts, labels = separable(120)

    engine.fine_tune(texts, labels, config(epochs=2), tiny, tmp_path, progress=events.append, resume=False)

    first_epoch = [e for e in events if e.phase == "training" and e.epoch == 1 and not e.history]
    assert first_epoch, "no event before the first epoch ended"
    assert [p[0] for p in first_epoch[0].loss_curve] == list(range(1, first_epoch[0].step + 1))
    last = events[-1]
    assert last.loss_curve[-1][0] == last.total_steps and len(last.loss_curve) <= 300


def test_a_resumed_attempt_keeps_the_curve_before_where_it_resumed() -> None:
    earlier = [[1, 2.0], [2, 1.5], [3, 1.2], [4, 1.1]]  # the lost attempt got to step 4; its checkpoint at 2
    heartbeat = _Heartbeat("t", "r", 1.0, earlier_curve=earlier)

    heartbeat.report({"phase": "training", "step": 3, "loss_curve": [[3, 1.0]]})
    final = heartbeat.update(phase="saving", epochs=5)

    assert final["loss_curve"] == [[1, 2.0], [2, 1.5], [3, 1.0]]
    assert (final["phase"], final["epochs"], final["step"]) == ("saving", 5, 3)


@pytest.mark.worker
def test_a_finished_run_keeps_its_curve_and_what_its_page_needs(
    transactional_db, tenant, key_client, celery_worker_process, client, member_of
):
    from django.urls import reverse

    from tenants.models import Role

    api = key_client(tenant)
    run = start_run(api, tenant, rows=200, epochs=2, learning_rate=3e-3, batch_size=16)

    done = wait_for(lambda: (r := get(api, run))["status"] in ("succeeded", "failed") and r, 180, "the run")

    assert done["status"] == "succeeded", done["error"]
    progress = done["progress"]
    assert progress["phase"] == "succeeded" and progress["epochs"] == 2
    assert progress["loss_curve"][0][0] == 1 and progress["loss_curve"][-1][0] == progress["total_steps"]
    assert progress["best_epoch"] == done["metrics"]["best_epoch"]
    stored = TrainingRun.objects.for_tenant(tenant).get(pk=done["id"])
    client.force_login(member_of(tenant, Role.VIEWER).user)
    page = client.get(
        reverse(
            "dashboard:run-detail",
            kwargs={"tenant_slug": tenant.slug, "project_id": stored.project_id, "run_id": stored.pk},
        )
    ).content.decode()
    chart = json.loads(re.search(r'id="run-chart-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert chart["loss"][0]["x"] < 1  # the curve starts within the first epoch, not at its end
