"""Dataset upload through the API: the check's report, nothing stored on failure, limits, scoping."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from projects.models import Dataset
from tests.factories import GOOD, REFUSED, ProjectFactory, named_csv, stored_files, upload


def test_upload_is_checked_and_the_report_returned(tenant, project, key_client):
    response = upload(key_client(tenant), project, GOOD)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["rows_usable"], body["label_count"]) == ("ready", 30, 2)
    assert (body["text_column"], body["label_column"], body["format"], body["encoding"]) == (
        "text",
        "label",
        "csv",
        "utf-8",
    )
    assert {label["name"] for label in body["report"]["labels"]} == {"card", "refund"}
    assert stored_files(tenant) == [Dataset.objects.for_tenant(tenant).get().file]
    assert Dataset.objects.for_tenant(tenant).get().file.startswith(f"tenants/{tenant.pk}/projects/{project.pk}/")


def test_the_same_file_uploaded_twice_is_recognised(tenant, project, key_client):
    client = key_client(tenant)
    first = upload(client, project, GOOD).json()

    again = upload(client, project, GOOD, name="copy.csv")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Dataset.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("refused", REFUSED, ids=[r.name for r in REFUSED])
def test_a_file_we_cannot_read_is_refused_with_its_error_and_nothing_is_stored(tenant, project, key_client, refused):
    response = upload(key_client(tenant), project, refused.data, **refused.fields)

    assert response.status_code == refused.status, response.content
    error = response.json()["error"]
    assert error["code"] == refused.code
    assert (error["details"][0]["field"], error["details"][0]["row"]) == ("file", refused.row)
    assert not Dataset.all_tenants.exists()
    assert stored_files(tenant) == []


def test_a_readable_file_with_blocking_problems_is_kept_as_invalid_with_its_report(tenant, project, key_client):
    response = upload(key_client(tenant), project, b"text,label\n" + b"hello,only\n" * 3 + b"bye,only\n")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "invalid"
    assert [f["code"] for f in body["report"]["findings"] if f["severity"] == "error"] == ["one_label"]


@override_settings(DATASET_MAX_UPLOAD_MB=1)
def test_an_upload_over_the_size_limit_answers_413_and_stores_nothing(tenant, project, key_client):
    big = GOOD + b"x" * (1024 * 1024 + 10) + b",card\n"

    response = upload(key_client(tenant), project, big)

    assert response.status_code == 413
    assert "1 MB" in response.json()["error"]["message"]
    assert not Dataset.all_tenants.exists()
    assert stored_files(tenant) == []


@override_settings(DATASET_MAX_ROWS=10)
def test_too_many_rows_answers_413(tenant, project, key_client):
    response = upload(key_client(tenant), project, GOOD)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_rows"
    assert stored_files(tenant) == []


def test_preview_shows_columns_guesses_and_first_rows_without_storing(tenant, project, key_client):
    data = b"utterance\tintent\nwhere is my card\tcard_arrival\nrefund please\trefund\n"

    response = key_client(tenant).post(
        f"/api/v1/projects/{project.pk}/datasets/preview/", {"file": named_csv(data, "x.tsv")}, format="multipart"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["format"], body["columns"], body["text_column"], body["label_column"]) == (
        "tsv",
        ["utterance", "intent"],
        "utterance",
        "intent",
    )
    assert body["preview"][0] == ["where is my card", "card_arrival"]
    assert stored_files(tenant) == []


def test_fix_makes_a_new_version_and_keeps_the_original(tenant, project, key_client):
    client = key_client(tenant)
    dirty = GOOD + b"message 1 about my card,card\n  ,card\nmessage 3 about my card,Card\n"
    original = upload(client, project, dirty).json()
    assert original["report"]["fixable"] is True

    response = client.post(f"/api/v1/datasets/{original['id']}/fix/")

    assert response.status_code == 201, response.content
    fixed = response.json()
    assert (fixed["version"], fixed["parent"], fixed["status"]) == (2, original["id"], "ready")
    assert fixed["rows_usable"] == 29  # duplicate, empty text and the conflicting pair (rows of message 3) gone
    assert [f["code"] for f in fixed["report"]["findings"] if f["severity"] != "info"] == []
    assert client.get(f"/api/v1/datasets/{original['id']}/").json()["rows_usable"] == original["rows_usable"]


def test_delete_removes_the_stored_file(tenant, project, key_client, django_capture_on_commit_callbacks):
    client = key_client(tenant)
    dataset = upload(client, project, GOOD).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/datasets/{dataset['id']}/")

    assert response.status_code == 204
    assert stored_files(tenant) == []


def test_another_tenants_project_and_dataset_answer_404(tenant, other_tenant, project, key_client):
    dataset = upload(key_client(tenant), project, GOOD).json()
    theirs = key_client(other_tenant)

    assert upload(theirs, project, GOOD).status_code == 404
    assert theirs.get(f"/api/v1/projects/{project.pk}/datasets/").status_code == 404
    assert theirs.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 404
    assert theirs.delete(f"/api/v1/datasets/{dataset['id']}/").status_code == 404
    assert theirs.post(f"/api/v1/datasets/{dataset['id']}/fix/").status_code == 404


def test_a_key_without_manage_reads_but_cannot_upload_fix_or_delete(tenant, project, key_client):
    dataset = upload(key_client(tenant), project, GOOD).json()
    reader = key_client(tenant, scopes=("read", "predict"))
    predictor = key_client(tenant, scopes=("predict",))

    assert predictor.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 403
    assert predictor.get(f"/api/v1/projects/{project.pk}/datasets/").status_code == 403
    assert reader.get(f"/api/v1/datasets/{dataset['id']}/").status_code == 200
    assert reader.get(f"/api/v1/projects/{project.pk}/datasets/").status_code == 200
    assert upload(reader, project, GOOD).status_code == 403
    assert reader.post(f"/api/v1/datasets/{dataset['id']}/fix/").status_code == 403
    assert reader.delete(f"/api/v1/datasets/{dataset['id']}/").status_code == 403


def test_anonymous_gets_401_everywhere(tenant, project, api_client):
    assert api_client.get(f"/api/v1/projects/{project.pk}/datasets/").status_code == 401
    assert upload(api_client, project, GOOD).status_code == 401


def test_a_key_limited_to_another_project_gets_404(tenant, project, key_client):
    other = ProjectFactory(tenant=tenant, name="Other")
    limited = key_client(tenant, project=other)

    assert upload(limited, project, GOOD).status_code == 404
    assert upload(limited, other, GOOD).status_code == 201


@pytest.mark.parametrize(
    ("path", "multi_label", "labels"),
    [
        ("banking77/train.csv", False, 77),
        ("sst2/train.csv", False, 2),
        ("agnews/train.csv", False, 4),
        ("goemotions/train.csv", True, 28),
    ],
)
def test_the_shared_public_datasets_upload_and_check_cleanly(
    shared_datasets, tenant, project, key_client, path, multi_label, labels
):
    data = (shared_datasets / path).read_bytes()

    with override_settings(DATASET_INLINE_CHECK_MB=50):
        response = upload(key_client(tenant), project, data, name=path.replace("/", "-"))

    body = response.json()
    assert response.status_code == 201
    assert (body["status"], body["multi_label"], body["label_count"]) == ("ready", multi_label, labels)
    assert body["rows_usable"] == body["rows_read"]


def test_deleting_a_project_deletes_its_dataset_files_and_revokes_its_keys(
    tenant, project, key_client, django_capture_on_commit_callbacks, run_tasks
):
    from tenants.models import ApiKey, AuditEvent
    from tests.factories import make_api_key

    manager = key_client(tenant)
    upload(manager, project, GOOD)
    limited, secret = make_api_key(tenant, project=project, name="limited")

    with django_capture_on_commit_callbacks(execute=True):
        assert manager.delete(f"/api/v1/projects/{project.pk}/").status_code == 204

    assert stored_files(tenant) == []
    assert not ApiKey.objects.for_tenant(tenant).filter(pk=limited.pk).exists()
    assert AuditEvent.objects.for_tenant(tenant).filter(action="api_key.revoked", target_label=str(limited)).exists()
    assert APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 401
