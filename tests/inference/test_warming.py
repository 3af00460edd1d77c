"""Each web process loads deployed versions before their first request: at start, then as they are deployed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inference import loading
from tests.factories import ProjectFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support")


def cached(version) -> bool:
    return str(version.pk) in loading.model_cache()


def test_a_starting_process_loads_the_latest_deployed_versions_of_every_tenant(tenant, project, deploy):
    now = timezone.now()
    elsewhere = ProjectFactory(tenant=TenantFactory(), name="Another organization's")
    first = deploy(project, "full", deployed_at=now - timedelta(minutes=3))
    second = deploy(elsewhere, "full", deployed_at=now - timedelta(minutes=2))
    undeployed = deploy(ProjectFactory(tenant=tenant, name="Not yet"), "full", active=False)

    latest = loading.warm_deployed(limit=50)

    assert cached(first) and cached(second)
    assert not cached(undeployed)
    assert latest == second.deployed_at


def test_it_loads_only_as_many_as_it_is_told_the_most_recent_first(tenant, project, deploy):
    now = timezone.now()
    older = deploy(project, "full", deployed_at=now - timedelta(minutes=2))
    newer = deploy(ProjectFactory(tenant=tenant, name="Newer"), "full", deployed_at=now - timedelta(minutes=1))

    loading.warm_deployed(limit=1)

    assert cached(newer)
    assert not cached(older)


def test_a_deploy_made_in_another_process_is_loaded_at_the_next_round(tenant, project, deploy):
    now = timezone.now()
    current = deploy(project, "full", deployed_at=now - timedelta(minutes=1))
    since = loading.warm_deployed(limit=50)
    # A rollback or a training run's auto-deploy, committed by a worker or another web process.
    rolled = deploy(project, "lora", deployed_at=now)
    assert not cached(rolled)

    latest = loading.warm_deployed(since=since)

    assert cached(rolled) and cached(current)
    assert latest == rolled.deployed_at
