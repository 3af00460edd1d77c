"""Training runs and model versions over the API: shapes, scopes, tenants."""

from __future__ import annotations

import pytest

from tests.factories import model_version, ready_dataset


@pytest.fixture
def dataset(project):
    return ready_dataset(project)


def start(client, project, **body):
    return client.post(f"/api/v1/projects/{project.pk}/training-runs/", body, format="json")


def test_starting_a_run_queues_it_with_what_was_asked(tenant, project, dataset, key_client):
    response = start(key_client(tenant), project, dataset_id=str(dataset.pk), method="lora", epochs=3)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["method"], body["hyperparameters"], body["base_model"]) == (
        "queued",
        "lora",
        {"epochs": 3},
        "minilm-l6",
    )
    assert body["queue_position"] == 0
    assert body["error"] is None


def test_a_bad_setting_answers_400_naming_it(tenant, project, dataset, key_client):
    response = start(key_client(tenant), project, dataset_id=str(dataset.pk), learning_rate=5)

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "learning_rate"


def test_every_bad_setting_is_listed_in_one_400_and_nothing_is_queued(tenant, project, dataset, key_client):
    import jsonschema
    from django.test import Client

    from training.models import TrainingRun

    response = start(
        key_client(tenant),
        project,
        dataset_id=str(dataset.pk),
        epochs="abc",  # not a number at all, beside ones out of their range: all are reported at once
        learning_rate=5,
        batch_size=0,
        max_length=256,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert {(d["field"], d["message"]) for d in error["details"]} == {
        ("epochs", "Epochs must be a whole number between 1 and 50 (not abc)."),
        ("learning_rate", "Learning rate must be a number between 0.000001 and 0.01 (not 5)."),
        ("batch_size", "Batch size must be a whole number between 1 and 512 (not 0)."),
    }
    assert error["code"] == "invalid" and "Learning rate must be" in error["message"]
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    jsonschema.validate(response.json(), schema["components"]["schemas"]["Error"])
    assert not TrainingRun.objects.for_tenant(tenant).exists()


def test_a_bad_setting_and_a_bad_field_are_reported_together(tenant, project, key_client):
    response = start(key_client(tenant), project, dataset_id="not-a-uuid", method="qlora", seed=-1)

    assert response.status_code == 400
    assert {d["field"] for d in response.json()["error"]["details"]} == {"dataset_id", "method", "seed"}


def test_a_dataset_still_being_checked_answers_409(tenant, project, key_client):
    checking = ready_dataset(project, status="checking")

    response = start(key_client(tenant), project, dataset_id=str(checking.pk))

    assert response.status_code == 409
    assert "still being checked" in response.json()["error"]["message"]


def test_run_status_and_cancel(tenant, project, dataset, key_client):
    client = key_client(tenant)
    run = start(client, project, dataset_id=str(dataset.pk)).json()

    assert client.get(f"/api/v1/training-runs/{run['id']}/").json()["status"] == "queued"
    cancelled = client.post(f"/api/v1/training-runs/{run['id']}/cancel/")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/training-runs/{run['id']}/cancel/").status_code == 409
    assert [r["id"] for r in client.get(f"/api/v1/projects/{project.pk}/training-runs/").json()["results"]] == [
        run["id"]
    ]


def test_versions_are_listed_and_deploy_and_rollback_switch_the_active_one(tenant, project, key_client):
    client = key_client(tenant)
    v1, v2 = model_version(tenant, project, 1), model_version(tenant, project, 2)

    listed = client.get(f"/api/v1/projects/{project.pk}/models/").json()["results"]
    assert [v["version"] for v in listed] == [2, 1]
    assert client.post(f"/api/v1/models/{v2.pk}/deploy/").json()["is_active"] is True
    assert client.post(f"/api/v1/models/{v1.pk}/deploy/").json()["is_active"] is True
    assert client.get(f"/api/v1/models/{v2.pk}/").json()["is_active"] is False


def test_another_tenant_gets_404_on_every_training_endpoint(tenant, other_tenant, project, dataset, key_client):
    run = start(key_client(tenant), project, dataset_id=str(dataset.pk)).json()
    version = model_version(tenant, project, 1)
    theirs = key_client(other_tenant)

    assert start(theirs, project, dataset_id=str(dataset.pk)).status_code == 404
    assert theirs.get(f"/api/v1/projects/{project.pk}/training-runs/").status_code == 404
    assert theirs.get(f"/api/v1/training-runs/{run['id']}/").status_code == 404
    assert theirs.post(f"/api/v1/training-runs/{run['id']}/cancel/").status_code == 404
    assert theirs.get(f"/api/v1/projects/{project.pk}/models/").status_code == 404
    assert theirs.get(f"/api/v1/models/{version.pk}/").status_code == 404
    assert theirs.post(f"/api/v1/models/{version.pk}/deploy/").status_code == 404


def test_a_key_without_manage_reads_but_cannot_start_cancel_or_deploy(tenant, project, dataset, key_client):
    run = start(key_client(tenant), project, dataset_id=str(dataset.pk)).json()
    version = model_version(tenant, project, 1)
    reader = key_client(tenant, scopes=("read", "predict"))
    predictor = key_client(tenant, scopes=("predict",))

    assert predictor.get(f"/api/v1/training-runs/{run['id']}/").status_code == 403
    assert predictor.get(f"/api/v1/models/{version.pk}/").status_code == 403
    assert reader.get(f"/api/v1/training-runs/{run['id']}/").status_code == 200
    assert reader.get(f"/api/v1/projects/{project.pk}/models/").status_code == 200
    assert start(reader, project, dataset_id=str(dataset.pk)).status_code == 403
    assert reader.post(f"/api/v1/training-runs/{run['id']}/cancel/").status_code == 403
    assert reader.post(f"/api/v1/models/{version.pk}/deploy/").status_code == 403


def test_anonymous_gets_401(tenant, project, api_client):
    assert api_client.get(f"/api/v1/projects/{project.pk}/training-runs/").status_code == 401
    assert start(api_client, project, dataset_id="6f1c3a52-8f4e-4a0e-9d3b-0a4c3b2f1e00").status_code == 401
