"""Training bills the worker's compute seconds of the attempt that ended the run, rounded up: a succeeded
run and a cancelled one bill; a failed one bills nothing. Free tenants without training time left cannot
start a run. (The real worker's figures are checked in test_worker_training.)"""

from __future__ import annotations

import pytest

from billing.models import Plan, QuotaCounter, UsageRecord
from tenants.errors import ServiceError
from tests.factories import ProjectFactory, ready_dataset
from training.models import RunStatus, TrainingRun
from training.services import run_create, run_fail, run_succeed


@pytest.fixture(autouse=True)
def _plans(plans):
    pass


@pytest.fixture
def run(tenant) -> TrainingRun:
    project = ProjectFactory(tenant=tenant)
    run = run_create(tenant=tenant, project=project, dataset_id=ready_dataset(project).pk)
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    return run


def training_usage(tenant) -> list[tuple[str, int, str]]:
    return list(UsageRecord.objects.for_tenant(tenant).values_list("source", "quantity", "training_run_id"))


def test_a_succeeded_run_bills_its_compute_seconds_rounded_up(tenant, run):
    run_succeed(
        run=run,
        artifact_path="a",
        size_bytes=1,
        label_names=["a", "b"],
        thresholds={},
        metrics={},
        history=[],
        compute_seconds=61.2,
    )

    assert training_usage(tenant) == [("training", 62, run.pk)]
    assert QuotaCounter.objects.for_tenant(tenant).get(kind="training_seconds").used == 62


def test_a_cancelled_run_bills_the_seconds_it_used(tenant, run):
    run_fail(
        tenant_id=str(tenant.pk),
        run_id=str(run.pk),
        code="cancelled",
        message="Cancelled.",
        cancelled=True,
        compute_seconds=9.01,
    )

    assert training_usage(tenant) == [("training", 10, run.pk)]


@pytest.mark.parametrize("code", ["out_of_memory", "internal_error", "time_limit", "bad_data"])
def test_a_failed_run_bills_nothing(tenant, run, code):
    run_fail(tenant_id=str(tenant.pk), run_id=str(run.pk), code=code, message="Failed.", compute_seconds=300.0)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert training_usage(tenant) == []


def test_a_free_tenant_without_training_minutes_left_cannot_start_a_run(tenant, run):
    free = Plan.objects.get(code="free")
    free.included_training_minutes = 1
    free.save()
    run_fail(
        tenant_id=str(tenant.pk),
        run_id=str(run.pk),
        code="cancelled",
        message="Cancelled.",
        cancelled=True,
        compute_seconds=60,
    )

    with pytest.raises(ServiceError) as refused:
        run_create(tenant=tenant, project=run.project, dataset_id=run.dataset_id)

    assert refused.value.status == 402 and refused.value.code == "quota_exceeded"
    assert "1 training minute a month" in refused.value.message
    assert TrainingRun.objects.for_tenant(tenant).count() == 1
