"""A batch job reads only a dataset of its own project: another project's dataset, of this tenant or another,
answers 404 as a missing one does, and nothing is created."""

from __future__ import annotations

import uuid

import pytest

from inference.models import BatchPrediction
from tests.factories import ProjectFactory, ready_dataset


@pytest.fixture
def support(tenant):
    return ProjectFactory(tenant=tenant, name="Support")


def submit(client, project, dataset_id):
    return client.post(
        f"/api/v1/projects/{project.pk}/batch-predictions/", {"dataset_id": str(dataset_id)}, format="json"
    )


def jobs_of(tenant) -> list[BatchPrediction]:
    return list(BatchPrediction.objects.for_tenant(tenant))


def test_a_dataset_of_another_project_of_the_tenant_answers_404_and_creates_nothing(
    tenant, support, key_client, deploy
):
    deploy(support, "full")
    sales = ProjectFactory(tenant=tenant, name="Sales")
    theirs = ready_dataset(sales, name="sales-leads.csv", rows_read=12)
    client = key_client(tenant, scopes=("predict",))

    response = submit(client, support, theirs.pk)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == submit(client, support, uuid.uuid4()).json()["error"]["message"]
    assert jobs_of(tenant) == []


def test_a_dataset_of_another_tenant_answers_404_and_creates_nothing(tenant, other_tenant, support, key_client, deploy):
    deploy(support, "full")
    elsewhere = ready_dataset(ProjectFactory(tenant=other_tenant, name="Globex intents"), rows_read=12)

    response = submit(key_client(tenant, scopes=("predict",)), support, elsewhere.pk)

    assert response.status_code == 404
    assert jobs_of(tenant) == [] and jobs_of(other_tenant) == []
