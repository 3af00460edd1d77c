"""Bad input gets a clear JSON answer: deeply nested JSON, bodies over the size limits, too many fields or
files, and pages larger than the API serves."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.factories import ProjectFactory

DEEP = 100_000


@pytest.fixture
def client(tenant, key_client):
    return key_client(tenant)


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Intents")


@pytest.fixture
def monitor(client, project):
    response = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _urls(project, monitor):
    return {
        "predict": f"/api/v1/projects/{project.pk}/predict/",
        "monitor events": f"/api/v1/monitors/{monitor['id']}/events/",
        "create a project": "/api/v1/projects/",
        "batch predictions": f"/api/v1/projects/{project.pk}/batch-predictions/",
    }


def _assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


# --- nesting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP, '{"texts": ' + "[" * 40 + "]" * 40 + "}"],
    ids=["100k-deep-arrays", "100k-deep-objects", "40-deep"],
)
@pytest.mark.parametrize("endpoint", ["predict", "monitor events", "create a project", "batch predictions"])
def test_deeply_nested_json_is_refused_with_400(client, project, monitor, endpoint, body):
    response = client.post(_urls(project, monitor)[endpoint], body, content_type="application/json")

    error = _assert_error(response, 400, "too_deep")
    assert "nested more than 32 levels" in error["message"]


def test_json_nested_within_the_limit_is_parsed_as_before(client):
    body = {"name": "Nested", "description": json.dumps([[[["fine"]]]]), "extra": [[[[[[[[["ignored"]]]]]]]]]}

    response = client.post("/api/v1/projects/", body, format="json")

    assert response.status_code == 201, response.content


# --- body size ------------------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_json_body_over_the_limit_gets_a_json_413_naming_it(client, project, monitor):
    for url in _urls(project, monitor).values():
        response = client.post(url, json.dumps({"texts": ["x" * 2000]}), content_type="application/json")

        error = _assert_error(response, 413, "too_large")
        assert "1,024 bytes" in error["message"], error


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_multipart_body_with_fields_over_the_limit_gets_a_json_413(client, project):
    response = client.post(
        f"/api/v1/projects/{project.pk}/datasets/",
        {"file": _csv(), "text_column": "t" * 2000},
        format="multipart",
    )

    error = _assert_error(response, 413, "too_large")
    assert "1,024 bytes" in error["message"], error


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3)
def test_too_many_form_fields_get_a_json_400_naming_the_limit(client, project):
    fields = {f"field{i}": "x" for i in range(10)}

    response = client.post(f"/api/v1/projects/{project.pk}/datasets/", {"file": _csv(), **fields}, format="multipart")

    error = _assert_error(response, 400, "too_many_fields")
    assert "more than 3 fields" in error["message"], error


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=2)
def test_too_many_files_get_a_json_400_naming_the_limit(client, project):
    files = {f"file{i}": _csv() for i in range(4)}

    response = client.post(f"/api/v1/projects/{project.pk}/datasets/", {"file": _csv(), **files}, format="multipart")

    error = _assert_error(response, 400, "too_many_files")
    assert "more than 2 files" in error["message"], error


def _csv():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("data.csv", b"text,label\nhello,greeting\n", content_type="text/csv")


# --- pagination -------------------------------------------------------------------------------------------


def test_a_page_larger_than_the_maximum_of_200_is_cut_to_200(client, tenant):
    ProjectFactory.create_batch(203, tenant=tenant)

    page = client.get("/api/v1/projects/?limit=100000").json()

    assert page["count"] == 203
    assert len(page["results"]) == 200
    assert "limit=200" in page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 3
    assert rest["next"] is None
