"""The project page's first steps: each done or not from the project's data, each linking to where to do it,
and gone once all are done."""

from __future__ import annotations

import re
from html import unescape

from django.urls import reverse

from billing.models import UsageKind, UsageRecord, UsageSource
from projects.models import DatasetStatus
from tenants.models import Role
from tests.factories import model_version, ready_dataset
from training.models import ModelVersion


def checklist(client, tenant, project) -> str | None:
    """The checklist's words and links (``text [href]``), or None when the page has none."""
    response = client.get(
        reverse("dashboard:project-detail", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk})
    )
    assert response.status_code == 200
    found = re.search(r'<article id="onboarding".*?</article>', response.content.decode(), re.S)
    if found is None:
        return None
    html = re.sub(r'<a href="([^"]*)">([^<]*)</a>', r"\2 [\1]", found.group(0))
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def url(name, tenant, project, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


def test_a_new_project_is_one_step_in_and_points_at_the_upload(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    steps = checklist(client, tenant, project)

    assert steps is not None and "1 of 6 steps done" in steps
    assert "✓ Create a project · done" in steps
    assert f"Upload labeled texts : Upload a dataset [{url('dataset-list', tenant, project)}]" in steps


def test_a_dataset_being_checked_points_at_its_check(client, tenant, project, member_of):
    dataset = ready_dataset(project, status=DatasetStatus.CHECKING)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    steps = checklist(client, tenant, project)

    assert "2 of 6 steps done" in steps
    check = url("dataset-detail", tenant, project, dataset_id=dataset.pk)
    assert f"Check the data : Read the data check [{check}] It is being checked." in steps


def test_a_ready_dataset_points_at_training_on_it(client, tenant, project, member_of):
    dataset = ready_dataset(project)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    steps = checklist(client, tenant, project)

    assert "3 of 6 steps done" in steps
    assert f"Train a model : Start a training run [{url('run-list', tenant, project)}?dataset={dataset.pk}]" in steps


def test_a_deployed_model_leaves_the_api_call_and_a_call_ends_the_checklist(client, tenant, project, member_of):
    ready_dataset(project)
    version = model_version(tenant, project, 1)  # made by a succeeded run
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert "4 of 6 steps done" in checklist(client, tenant, project)
    ModelVersion.objects.for_tenant(tenant).filter(pk=version.pk).update(is_active=True)
    steps = checklist(client, tenant, project)
    assert "5 of 6 steps done" in steps and "Call the API : See the code [#api]" in steps

    UsageRecord.all_tenants.create(
        tenant=tenant, project=project, kind=UsageKind.PREDICTION, source=UsageSource.API, quantity=1
    )

    assert checklist(client, tenant, project) is None


def test_another_projects_progress_does_not_count(client, tenant, project, member_of):
    from tests.factories import ProjectFactory

    other = ProjectFactory(tenant=tenant)
    ready_dataset(other)
    ModelVersion.objects.for_tenant(tenant).filter(pk=model_version(tenant, other, 1).pk).update(is_active=True)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert "1 of 6 steps done" in checklist(client, tenant, project)
