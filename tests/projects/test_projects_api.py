"""The projects API: the role matrix on every endpoint, validation, project-limited keys, query shape."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from projects.models import Project
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/projects/"


def detail(project_id: object) -> str:
    return f"/api/v1/projects/{project_id}/"


@pytest.fixture
def manage_client(tenant, key_client):
    return key_client(tenant, scopes=("manage",))


@pytest.fixture
def predict_client(tenant, key_client):
    return key_client(tenant, scopes=("predict",))


def call(client, method: str, url: str, data: dict | None = None):
    return getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)


# Every endpoint that exists, with a body a manage key would be allowed to send.
ENDPOINTS = [
    pytest.param("get", False, None, id="list"),
    pytest.param("post", False, {"name": "Refunds", "use_case": "customer_service"}, id="create"),
    pytest.param("get", True, None, id="retrieve"),
    pytest.param("patch", True, {"confidence_threshold": 0.7}, id="update"),
    pytest.param("delete", True, None, id="delete"),
]
DETAIL_ENDPOINTS = [p for p in ENDPOINTS if p.values[1]]
WRITE_ENDPOINTS = [p for p in ENDPOINTS if p.values[0] != "get"]
READ_ENDPOINTS = [p for p in ENDPOINTS if p.values[0] == "get"]


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


# --- the role matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "is_detail", "data"), ENDPOINTS)
def test_request_without_key_gets_401_asking_for_an_api_key(api_client, project, method, is_detail, data):
    response = call(api_client, method, detail(project.pk) if is_detail else LIST, data)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert_error_shape(response.json(), "not_authenticated")
    stored = Project.all_tenants.get()  # nothing created, changed or deleted
    assert (stored.pk, stored.name, stored.confidence_threshold) == (project.pk, "Intents", 0.5)


def test_dashboard_session_is_not_accepted_by_the_api(project):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(LIST)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(("method", "is_detail", "data"), DETAIL_ENDPOINTS)
def test_other_tenant_gets_404_exactly_like_a_missing_id(other_tenant, key_client, project, method, is_detail, data):
    client = key_client(other_tenant, scopes=("predict", "manage"))

    other = call(client, method, detail(project.pk), data)
    missing = call(client, method, detail(uuid.uuid4()), data)

    assert other.status_code == 404
    assert other.json() == missing.json()
    assert_error_shape(other.json(), "not_found")


@pytest.mark.parametrize(("method", "is_detail", "data"), DETAIL_ENDPOINTS)
def test_other_tenant_cannot_change_the_project(other_tenant, key_client, project, method, is_detail, data):
    call(key_client(other_tenant), method, detail(project.pk), data)

    unchanged = Project.all_tenants.get(pk=project.pk)
    assert unchanged.confidence_threshold == project.confidence_threshold
    assert unchanged.name == project.name


def test_other_tenants_projects_are_not_listed(other_tenant, key_client, project):
    ProjectFactory(tenant=other_tenant, name="Theirs")

    response = key_client(other_tenant).get(LIST)

    assert [p["name"] for p in response.json()["results"]] == ["Theirs"]


@pytest.mark.parametrize(("method", "is_detail", "data"), WRITE_ENDPOINTS)
def test_predict_only_key_gets_403_on_writes(predict_client, project, method, is_detail, data):
    response = call(predict_client, method, detail(project.pk) if is_detail else LIST, data)

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")
    assert "'manage' scope" in response.json()["error"]["message"]
    assert Project.all_tenants.get(pk=project.pk).confidence_threshold == project.confidence_threshold
    assert Project.all_tenants.filter(tenant=project.tenant).count() == 1


@pytest.mark.parametrize(("method", "is_detail", "data"), READ_ENDPOINTS)
def test_predict_only_key_cannot_read(predict_client, project, method, is_detail, data):
    response = call(predict_client, method, detail(project.pk) if is_detail else LIST, data)

    assert response.status_code == 403
    assert "'read' scope" in response.json()["error"]["message"]


@pytest.mark.parametrize(("method", "is_detail", "data"), READ_ENDPOINTS)
def test_read_key_can_read(tenant, key_client, project, method, is_detail, data):
    response = call(key_client(tenant, scopes=("read",)), method, detail(project.pk) if is_detail else LIST, data)

    assert response.status_code == 200


def test_manage_key_lists_projects(manage_client, project):
    response = manage_client.get(LIST)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"][0]["id"] == str(project.pk)


def test_manage_key_creates_a_project_in_its_tenant(manage_client, tenant):
    response = manage_client.post(
        LIST, {"name": "  Refunds ", "use_case": "monitoring", "multi_label": True}, format="json"
    )

    assert response.status_code == 201, response.content
    created = Project.all_tenants.get(pk=response.json()["id"])
    assert created.tenant_id == tenant.pk
    assert (created.name, created.use_case, created.multi_label) == ("Refunds", "monitoring", True)
    assert response.json()["name"] == "Refunds"


def test_manage_key_reads_a_project(manage_client, project):
    response = manage_client.get(detail(project.pk))

    assert response.status_code == 200
    assert response.json()["id"] == str(project.pk)
    assert response.json()["name"] == "Intents"
    assert "tenant" not in response.json()


def test_manage_key_updates_a_project(manage_client, project):
    response = manage_client.patch(
        detail(project.pk), {"confidence_threshold": 0.8, "description": "Card intents"}, format="json"
    )

    assert response.status_code == 200, response.content
    project.refresh_from_db()
    assert (project.confidence_threshold, project.description) == (0.8, "Card intents")
    assert response.json()["confidence_threshold"] == 0.8


def test_manage_key_deletes_a_project(manage_client, project):
    response = manage_client.delete(detail(project.pk))

    assert response.status_code == 204
    assert not Project.all_tenants.filter(pk=project.pk).exists()


def test_put_is_not_offered(manage_client, project):
    response = manage_client.put(detail(project.pk), {"name": "X", "use_case": "monitoring"}, format="json")

    assert response.status_code == 405
    assert_error_shape(response.json(), "method_not_allowed")


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Refunds", "use_case": "astrology"}, "use_case"),
        ({"name": "Refunds", "confidence_threshold": -0.1}, "confidence_threshold"),
        ({"name": "Refunds", "confidence_threshold": 1.01}, "confidence_threshold"),
        ({"use_case": "monitoring"}, "name"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_create_gets_400_naming_the_field(manage_client, data, field):
    response = manage_client.post(LIST, data, format="json")

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert not Project.all_tenants.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"use_case": "astrology"}, "use_case"),
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"confidence_threshold": -1}, "confidence_threshold"),
    ],
)
def test_invalid_update_gets_400_and_changes_nothing(manage_client, project, data, field):
    response = manage_client.patch(detail(project.pk), data, format="json")

    assert response.status_code == 400
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    project.refresh_from_db()
    assert (project.use_case, project.confidence_threshold) == ("customer_service", 0.5)


@pytest.mark.parametrize("threshold", [0, 1, 0.0, 1.0])
def test_threshold_bounds_are_inclusive(manage_client, project, threshold):
    response = manage_client.patch(detail(project.pk), {"confidence_threshold": threshold}, format="json")

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.confidence_threshold == threshold
    assert response.json()["confidence_threshold"] == threshold


@pytest.mark.parametrize("name", ["Intents", "intents", "INTENTS", " intents "])
def test_duplicate_name_ignoring_case_gets_409(manage_client, project, name):
    response = manage_client.post(LIST, {"name": name, "use_case": "customer_service"}, format="json")

    assert response.status_code == 409
    assert_error_shape(response.json(), "conflict")
    assert response.json()["error"]["details"][0]["field"] == "name"
    assert Project.all_tenants.count() == 1


def test_renaming_onto_an_existing_name_gets_409(manage_client, tenant, project):
    second = ProjectFactory(tenant=tenant, name="Refunds")

    response = manage_client.patch(detail(second.pk), {"name": "INTENTS"}, format="json")

    assert response.status_code == 409
    second.refresh_from_db()
    assert second.name == "Refunds"


def test_renaming_to_its_own_name_in_another_case_is_allowed(manage_client, project):
    response = manage_client.patch(detail(project.pk), {"name": "INTENTS"}, format="json")

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.name == "INTENTS"


def test_same_name_in_another_tenant_is_allowed(manage_client, other_tenant, tenant):
    theirs = ProjectFactory(tenant=other_tenant, name="Intents")

    response = manage_client.post(LIST, {"name": "Intents"}, format="json")

    assert response.status_code == 201
    created = Project.all_tenants.get(pk=response.json()["id"])
    assert (created.tenant_id, created.name) == (tenant.pk, "Intents")
    assert sorted(Project.all_tenants.values_list("tenant_id", "name")) == sorted(
        [(tenant.pk, "Intents"), (other_tenant.pk, "Intents")]
    )
    assert Project.all_tenants.get(pk=theirs.pk).name == "Intents"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_malformed_uuid_in_url_gets_json_404(manage_client, method):
    response = getattr(manage_client, method)(detail("not-a-uuid"))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert_error_shape(response.json(), "not_found")


def test_unknown_and_read_only_fields_are_ignored(manage_client, tenant, other_tenant):
    chosen_id = uuid.uuid4()

    response = manage_client.post(
        LIST,
        {"name": "Refunds", "colour": "blue", "id": str(chosen_id), "tenant": str(other_tenant.pk)},
        format="json",
    )

    assert response.status_code == 201
    assert "colour" not in response.json()
    created = Project.all_tenants.get(name="Refunds")
    assert created.pk != chosen_id
    assert created.tenant_id == tenant.pk


# --- keys limited to one project -----------------------------------------------------------------------


@pytest.fixture
def other_project(tenant):
    return ProjectFactory(tenant=tenant, name="Refunds")


@pytest.fixture
def limited_client(tenant, key_client, project):
    return key_client(tenant, scopes=("predict", "manage"), project=project)


def test_project_limited_key_lists_only_its_project(limited_client, project, other_project):
    response = limited_client.get(LIST)

    assert [p["id"] for p in response.json()["results"]] == [str(project.pk)]


def test_project_limited_key_reads_its_project(limited_client, project):
    assert limited_client.get(detail(project.pk)).status_code == 200


@pytest.mark.parametrize(("method", "is_detail", "data"), DETAIL_ENDPOINTS)
def test_project_limited_key_gets_404_for_another_project(limited_client, other_project, method, is_detail, data):
    response = call(limited_client, method, detail(other_project.pk), data)

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")
    stored = Project.all_tenants.get(pk=other_project.pk)
    assert (stored.name, stored.confidence_threshold) == ("Refunds", other_project.confidence_threshold)


def test_project_limited_key_cannot_create_projects(limited_client):
    response = limited_client.post(LIST, {"name": "Another"}, format="json")

    assert response.status_code == 403
    assert_error_shape(response.json(), "key_project_restricted")
    assert not Project.all_tenants.filter(name="Another").exists()


# --- query shape ------------------------------------------------------------------------------------------


def test_list_runs_a_bounded_number_of_queries(manage_client, tenant, django_assert_max_num_queries):
    ProjectFactory.create_batch(30, tenant=tenant)
    manage_client.get(LIST)  # the key's first use records last_used_at; later ones do not write

    # Key look-up, count, page. On PostgreSQL the database context adds seven set_config/current_setting
    # round trips (middleware save/clear, system context for the look-up and back, tenant, restore).
    budget = 10 if connection.vendor == "postgresql" else 3
    with django_assert_max_num_queries(budget):
        response = manage_client.get(LIST)

    assert response.json()["count"] == 30


def test_list_query_count_does_not_grow_with_projects(manage_client, tenant):
    ProjectFactory.create_batch(2, tenant=tenant)
    manage_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        manage_client.get(LIST)

    ProjectFactory.create_batch(40, tenant=tenant)
    manage_client.get(LIST)  # saving projects cleared the cached key lookup: warm it again
    with CaptureQueriesContext(connection) as many:
        response = manage_client.get(LIST)

    assert response.json()["count"] == 42
    assert len(many) == len(few)


def test_malformed_json_gets_400_in_the_error_shape(manage_client):
    response = manage_client.generic("POST", LIST, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert_error_shape(response.json(), "parse_error")
    assert not Project.all_tenants.exists()


def test_unsupported_content_type_gets_415(manage_client):
    response = manage_client.generic("POST", LIST, "name=Refunds", content_type="text/plain")

    assert response.status_code == 415
    assert_error_shape(response.json(), "unsupported_media_type")
    assert not Project.all_tenants.exists()


@override_settings(DEBUG=False)
def test_unknown_api_path_gets_json_404(manage_client):
    response = manage_client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")
