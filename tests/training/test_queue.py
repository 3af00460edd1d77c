"""The training queue: fair hand-over between tenants within their caps, claims, the sweeper, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from billing.models import Plan, Subscription
from projects.models import DatasetStatus
from tenants.errors import Conflict, InvalidInput, NotFound
from tests.factories import ProjectFactory, TenantFactory, ready_dataset
from training.models import RunStatus, TrainingRun
from training.services import (
    dispatch_queued_runs,
    model_deploy,
    run_cancel,
    run_claim,
    run_create,
    sweep_stale_runs,
)


def queued_runs(tenant, n: int) -> list[TrainingRun]:
    project = ProjectFactory(tenant=tenant)
    dataset = ready_dataset(project)
    return [run_create(tenant=tenant, project=project, dataset_id=dataset.pk) for _ in range(n)]


def handed_tenants(handed) -> list[str]:
    return [tenant_id for tenant_id, _, _ in handed]


def test_a_tenant_with_many_queued_runs_cannot_starve_another(db):
    busy, quiet = TenantFactory(), TenantFactory()
    queued_runs(busy, 5)
    queued_runs(quiet, 1)

    handed = dispatch_queued_runs()

    assert sorted(handed_tenants(handed)) == sorted([str(busy.pk), str(quiet.pk)])


@override_settings(TRAINING_MAX_RUNNING_PER_TENANT=2)
def test_each_tenant_gets_at_most_its_cap_and_the_next_run_once_one_ends(db):
    busy = TenantFactory()
    runs = queued_runs(busy, 3)

    first = dispatch_queued_runs()
    assert [run_id for _, run_id, _ in first] == [str(runs[0].pk), str(runs[1].pk)]
    assert dispatch_queued_runs() == []

    TrainingRun.objects.for_tenant(busy).filter(pk=runs[0].pk).update(status=RunStatus.SUCCEEDED)
    assert [run_id for _, run_id, _ in dispatch_queued_runs()] == [str(runs[2].pk)]


@override_settings(TRAINING_MAX_RUNNING_PER_TENANT=1)
def test_a_tenants_plan_sets_how_many_runs_it_may_have_at_once(db):
    paying, free = TenantFactory(), TenantFactory()
    roomy = Plan.objects.create(code="roomy", name="Roomy", included_training_minutes=60, training_max_running=3)
    Subscription.objects.for_tenant(paying).create(tenant=paying, plan=roomy)
    queued_runs(paying, 4)
    queued_runs(free, 4)  # no subscription of its own: the default plan (Free), one at a time

    handed = handed_tenants(dispatch_queued_runs())

    assert handed.count(str(paying.pk)) == 3
    assert handed.count(str(free.pk)) == 1


def test_only_the_current_hand_over_can_claim_a_run_and_only_once(db):
    tenant = TenantFactory()
    run = queued_runs(tenant, 1)[0]
    ((tenant_id, run_id, dispatch_id),) = dispatch_queued_runs()

    assert (
        run_claim(tenant_id=tenant_id, run_id=run_id, dispatch_id="6f1c3a52-8f4e-4a0e-9d3b-0a4c3b2f1e00", worker="w1")
        is None
    )
    claimed = run_claim(tenant_id=tenant_id, run_id=run_id, dispatch_id=dispatch_id, worker="w1")
    assert (claimed.status, claimed.attempts, claimed.worker) == (RunStatus.RUNNING, 1, "w1")
    assert run_claim(tenant_id=tenant_id, run_id=run_id, dispatch_id=dispatch_id, worker="w2") is None
    assert TrainingRun.objects.for_tenant(tenant).get(pk=run.pk).worker == "w1"


def _running(tenant, heartbeat_age_s: int, attempts: int = 1) -> TrainingRun:
    run = queued_runs(tenant, 1)[0]
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_s),
        dispatched_at=timezone.now(),
    )
    return run


def test_a_run_whose_worker_went_silent_is_queued_again_to_resume(db):
    tenant = TenantFactory()
    silent = _running(tenant, heartbeat_age_s=120)
    alive = _running(tenant, heartbeat_age_s=5)

    assert sweep_stale_runs() == [str(silent.pk)]

    silent.refresh_from_db()
    assert (silent.status, silent.dispatched_at, silent.progress["phase"]) == (
        RunStatus.QUEUED,
        None,
        "queued to resume",
    )
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING


@override_settings(TRAINING_MAX_ATTEMPTS=2)
def test_a_run_that_lost_its_worker_too_often_fails_with_a_reason(db):
    tenant = TenantFactory()
    run = _running(tenant, heartbeat_age_s=120, attempts=2)

    sweep_stale_runs()

    run.refresh_from_db()
    assert (run.status, run.error_code) == (RunStatus.FAILED, "worker_lost")
    assert "stopped responding 2 times" in run.error_message


def test_a_hand_over_that_was_never_claimed_is_made_again(db):
    tenant = TenantFactory()
    run = queued_runs(tenant, 1)[0]
    dispatch_queued_runs()
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(dispatched_at=timezone.now() - timedelta(hours=1))

    sweep_stale_runs()

    assert [run_id for _, run_id, _ in dispatch_queued_runs()] == [str(run.pk)]


def test_cancelling_a_queued_run_ends_it_at_once(db):
    tenant = TenantFactory()
    run = queued_runs(tenant, 1)[0]

    run_cancel(tenant=tenant, run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.finished_at is not None) == (RunStatus.CANCELLED, True)
    assert dispatch_queued_runs() == []


def test_cancelling_a_running_run_asks_its_worker_to_stop(db):
    tenant = TenantFactory()
    run = _running(tenant, heartbeat_age_s=1)

    run_cancel(tenant=tenant, run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == (RunStatus.RUNNING, True)


def test_cancelling_a_finished_run_is_a_conflict(db):
    tenant = TenantFactory()
    run = queued_runs(tenant, 1)[0]
    run_cancel(tenant=tenant, run_id=run.pk)

    with pytest.raises(Conflict, match="already cancelled"):
        run_cancel(tenant=tenant, run_id=run.pk)


@pytest.mark.parametrize(
    ("status", "message"),
    [(DatasetStatus.CHECKING, "still being checked"), (DatasetStatus.INVALID, "blocking problem")],
)
def test_a_dataset_that_is_not_ready_cannot_be_trained_on(db, status, message):
    tenant = TenantFactory()
    project = ProjectFactory(tenant=tenant)
    dataset = ready_dataset(project, status=status, report={"errors": 1})

    with pytest.raises(Conflict, match=message):
        run_create(tenant=tenant, project=project, dataset_id=dataset.pk)


def test_another_projects_dataset_is_not_found(db):
    tenant = TenantFactory()
    project, other = ProjectFactory(tenant=tenant), ProjectFactory(tenant=tenant)

    with pytest.raises(NotFound):
        run_create(tenant=tenant, project=project, dataset_id=ready_dataset(other).pk)


@pytest.mark.parametrize(
    ("settings_given", "field"),
    [
        ({"base_model": "bert-huge"}, "base_model"),
        ({"method": "qlora"}, "method"),
        ({"epochs": 0}, "epochs"),
        ({"learning_rate": 1.0}, "learning_rate"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"max_length": 4096}, "max_length"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(db, settings_given, field):
    tenant = TenantFactory()
    project = ProjectFactory(tenant=tenant)

    with pytest.raises(InvalidInput) as raised:
        run_create(tenant=tenant, project=project, dataset_id=ready_dataset(project).pk, **settings_given)

    assert raised.value.field == field


def test_deploy_makes_one_version_active_and_rollback_is_a_deploy_of_the_older_one(db):
    from training.models import ModelVersion

    tenant = TenantFactory()
    project = ProjectFactory(tenant=tenant)
    v1, v2 = (
        ModelVersion.all_tenants.create(
            tenant=tenant, project=project, version=n, base_model="minilm-l6", method="full", artifact_path=f"p{n}"
        )
        for n in (1, 2)
    )

    model_deploy(tenant=tenant, version_id=v2.pk)
    model_deploy(tenant=tenant, version_id=v1.pk)

    active = ModelVersion.objects.for_tenant(tenant).filter(is_active=True)
    assert list(active.values_list("version", flat=True)) == [1]


def test_a_projects_first_version_is_deployed_at_once_and_later_ones_wait(db):
    from training.services import run_succeed
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    tenant = TenantFactory()
    project = ProjectFactory(tenant=tenant)
    WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://example.com/hook", events=["model.deployed"])
    runs = [run_create(tenant=tenant, project=project, dataset_id=ready_dataset(project).pk) for _ in range(2)]

    first, second = (
        run_succeed(
            run=run, artifact_path="p", size_bytes=1, label_names=["a", "b"], thresholds={}, metrics={}, history=[]
        )
        for run in runs
    )

    assert (first.is_active, first.deployed_at is not None) == (True, True)
    assert second.is_active is False
    deployed = WebhookDelivery.objects.for_tenant(tenant).filter(event_type="model.deployed")
    assert [d.payload["data"]["version"] for d in deployed] == [1]
