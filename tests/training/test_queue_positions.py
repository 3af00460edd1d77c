"""Queue positions: how many runs of all tenants wait ahead, read for a whole list at once."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ProjectFactory, ready_dataset
from training import selectors
from training.models import RunStatus, TrainingRun
from training.services import run_create


def queue(project, n: int) -> list[TrainingRun]:
    """``n`` queued runs of the project."""
    dataset = ready_dataset(project)
    return [run_create(tenant=project.tenant, project=project, dataset_id=dataset.pk) for _ in range(n)]


def in_order(*runs: TrainingRun) -> list[TrainingRun]:
    """Give the runs distinct creation times, in the order given, and return them as stored."""
    start = timezone.now() - timedelta(hours=1)
    for i, run in enumerate(runs):
        TrainingRun.all_tenants.filter(pk=run.pk).update(created_at=start + timedelta(seconds=i))
        run.refresh_from_db()
    return list(runs)


def test_positions_count_the_queued_runs_of_every_tenant_created_before(project, other_tenant):
    (theirs,) = queue(ProjectFactory(tenant=other_tenant), 1)
    first, running, second, third = queue(project, 4)
    in_order(theirs, first, running, second, third)
    TrainingRun.all_tenants.filter(pk=running.pk).update(status=RunStatus.RUNNING)
    running.refresh_from_db()

    positions = selectors.queue_positions(runs=[first, running, second, third])

    assert positions == {first.pk: 1, second.pk: 2, third.pk: 3}
    assert selectors.queue_position(run=running) is None
    assert selectors.queue_position(run=third) == 3


def test_runs_created_at_the_same_moment_do_not_wait_for_each_other(project):
    a, b = queue(project, 2)
    TrainingRun.all_tenants.filter(pk__in=[a.pk, b.pk]).update(created_at=timezone.now())

    assert selectors.queue_positions(runs=[a, b]) == {a.pk: 0, b.pk: 0}


def test_no_queued_run_asks_nothing_of_the_database(project):
    (run,) = queue(project, 1)
    TrainingRun.all_tenants.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    run.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        assert selectors.queue_positions(runs=[run]) == {}

    assert len(queries) == 0


def test_the_positions_of_many_runs_cost_what_those_of_one_run_cost(project):
    (one,) = queue(project, 1)
    many = queue(project, 12)
    with CaptureQueriesContext(connection) as for_one:
        selectors.queue_positions(runs=[one])

    with CaptureQueriesContext(connection) as for_many:
        positions = selectors.queue_positions(runs=[one, *many])

    assert len(positions) == 13
    assert len(for_many) == len(for_one)


def list_runs(client, project) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/projects/{project.pk}/training-runs/")
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_listing_n_queued_runs_costs_a_constant_number_of_queries(tenant, project, key_client, lookup_clock):
    client = key_client(tenant)
    queue(project, 2)
    client.get(f"/api/v1/projects/{project.pk}/training-runs/")  # the key's first use writes last_used_at
    _, few = list_runs(client, project)

    queue(project, 20)
    client.get(f"/api/v1/projects/{project.pk}/training-runs/")  # new rows cleared cached lookups: warm again
    body, many = list_runs(client, project)

    assert body["count"] == 22
    assert many == few
    assert {run["id"]: run["queue_position"] for run in body["results"]} == {
        str(run.pk): waiting_ahead(run) for run in TrainingRun.objects.for_tenant(tenant).all()
    }


def waiting_ahead(run: TrainingRun) -> int:
    """The position as the definition says: queued runs of all tenants created before this one."""
    return TrainingRun.all_tenants.filter(status=RunStatus.QUEUED, created_at__lt=run.created_at).count()
