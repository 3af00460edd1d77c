"""The webhooks API: the role matrix on every endpoint, secrets, validation, the delivery log."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ProjectFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

LIST = "/api/v1/webhooks/"


def detail(endpoint_id: object) -> str:
    return f"/api/v1/webhooks/{endpoint_id}/"


@pytest.fixture
def endpoint(tenant, make_endpoint):
    return make_endpoint(tenant, url="https://hooks.example.com/in", events=["training_run.succeeded"])


@pytest.fixture
def manage_client(tenant, key_client):
    return key_client(tenant, scopes=("manage",))


@pytest.fixture
def predict_client(tenant, key_client):
    return key_client(tenant, scopes=("predict",))


CREATE_BODY = {"url": "https://hooks.example.com/new", "events": ["*"], "description": "CRM"}

# (method, path under the endpoint or None for the list, body a manage key may send, success status)
ENDPOINTS = [
    pytest.param("get", None, None, 200, id="list"),
    pytest.param("post", None, CREATE_BODY, 201, id="create"),
    pytest.param("get", "", None, 200, id="retrieve"),
    pytest.param("patch", "", {"description": "Renamed"}, 200, id="update"),
    pytest.param("delete", "", None, 204, id="delete"),
    pytest.param("post", "test/", None, 202, id="test"),
    pytest.param("post", "rotate-secret/", None, 200, id="rotate-secret"),
    pytest.param("get", "deliveries/", None, 200, id="deliveries"),
]
DETAIL_ENDPOINTS = [p for p in ENDPOINTS if p.values[1] is not None]
WRITE_ENDPOINTS = [p for p in ENDPOINTS if p.values[0] != "get"]
READ_ENDPOINTS = [p for p in ENDPOINTS if p.values[0] == "get"]


def url_of(path: str | None, endpoint_id: object) -> str:
    return LIST if path is None else detail(endpoint_id) + path


def call(client, method: str, url: str, body: dict | None):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


# --- the role matrix ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "success"), ENDPOINTS)
def test_no_key_gets_401(endpoint, method, path, body, success):
    response = call(APIClient(), method, url_of(path, endpoint.pk), body)

    assert response.status_code == 401
    assert_error_shape(response.json(), "not_authenticated")


@pytest.mark.parametrize(("method", "path", "body", "success"), DETAIL_ENDPOINTS)
def test_other_tenant_gets_404(endpoint, other_tenant, key_client, method, path, body, success):
    response = call(key_client(other_tenant), method, url_of(path, endpoint.pk), body)

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")
    assert WebhookEndpoint.all_tenants.get(pk=endpoint.pk).description == endpoint.description


@pytest.mark.parametrize(("method", "path", "body", "success"), DETAIL_ENDPOINTS)
def test_a_missing_endpoint_gets_404(manage_client, method, path, body, success):
    response = call(manage_client, method, url_of(path, uuid.uuid4()), body)

    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "success"), WRITE_ENDPOINTS)
def test_a_predict_only_key_gets_403_on_writes(endpoint, predict_client, method, path, body, success):
    response = call(predict_client, method, url_of(path, endpoint.pk), body)

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")
    assert "manage" in response.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body", "success"), READ_ENDPOINTS)
def test_a_predict_only_key_may_not_read(endpoint, predict_client, method, path, body, success):
    response = call(predict_client, method, url_of(path, endpoint.pk), body)

    assert response.status_code == 403
    assert "'read' scope" in response.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body", "success"), READ_ENDPOINTS)
def test_a_read_key_may_read_without_seeing_the_secret(tenant, endpoint, key_client, method, path, body, success):
    response = call(key_client(tenant, scopes=("read",)), method, url_of(path, endpoint.pk), body)

    assert response.status_code == 200
    assert endpoint.secret not in response.content.decode()


@pytest.mark.parametrize(("method", "path", "body", "success"), ENDPOINTS)
def test_a_manage_key_succeeds(endpoint, manage_client, method, path, body, success):
    response = call(manage_client, method, url_of(path, endpoint.pk), body)

    assert response.status_code == success, response.content


@pytest.mark.parametrize(("method", "path", "body", "success"), ENDPOINTS)
def test_a_key_limited_to_one_project_gets_403(tenant, endpoint, key_client, method, path, body, success):
    client = key_client(tenant, project=ProjectFactory(tenant=tenant))

    response = call(client, method, url_of(path, endpoint.pk), body)

    assert response.status_code == 403
    assert "limited to one project" in response.json()["error"]["message"]


# --- shapes -----------------------------------------------------------------------------------------------


def test_create_returns_the_secret(manage_client, tenant):
    response = manage_client.post(LIST, CREATE_BODY, format="json")

    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["events"], body["description"], body["is_active"]) == (
        "https://hooks.example.com/new",
        ["*"],
        "CRM",
        True,
    )
    assert WebhookEndpoint.objects.for_tenant(tenant).get().secret == body["secret"]


def test_the_list_never_shows_secrets(manage_client, endpoint):
    [item] = manage_client.get(LIST).json()["results"]

    assert item["id"] == str(endpoint.pk)
    assert "secret" not in item


def test_retrieve_shows_the_secret_to_a_manage_key_only(endpoint, manage_client, predict_client):
    assert manage_client.get(detail(endpoint.pk)).json()["secret"] == endpoint.secret
    assert "secret" not in predict_client.get(detail(endpoint.pk)).json()


def test_the_list_shows_only_this_tenants_endpoints(manage_client, endpoint, other_tenant, make_endpoint):
    make_endpoint(other_tenant)

    assert [e["id"] for e in manage_client.get(LIST).json()["results"]] == [str(endpoint.pk)]


def test_the_list_runs_a_fixed_number_of_queries(manage_client, tenant, make_endpoint):
    make_endpoint(tenant)
    manage_client.get(LIST)  # the key's first use writes its last-used time
    with CaptureQueriesContext(connection) as few:
        manage_client.get(LIST)
    for _ in range(5):
        make_endpoint(tenant)
    with CaptureQueriesContext(connection) as many:
        response = manage_client.get(LIST)

    assert len(response.json()["results"]) == 6
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["training_run.exploded"]}, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["webhook.test"]}, "events"),
        ({"url": "ftp://hooks.example.com/x", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_invalid_input_answers_400_naming_the_field(manage_client, body, field):
    response = manage_client.post(LIST, body, format="json")

    assert response.status_code == 400
    assert_error_shape(response.json(), response.json()["error"]["code"])
    assert response.json()["error"]["details"][0]["field"] == field


def test_a_url_to_a_private_address_answers_400(manage_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    response = manage_client.post(LIST, {"url": "https://169.254.169.254/latest", "events": ["*"]}, format="json")

    assert response.status_code == 400
    assert_error_shape(response.json(), "private_address")


def test_events_subscribed_to_are_normalized(manage_client):
    body = {
        "url": "https://hooks.example.com/x",
        "events": ["training_run.failed", "dataset.checked", "dataset.checked"],
    }

    assert manage_client.post(LIST, body, format="json").json()["events"] == ["dataset.checked", "training_run.failed"]


def test_enabling_a_disabled_endpoint_clears_its_reason(manage_client, tenant, make_endpoint):
    endpoint = make_endpoint(
        tenant, is_active=False, disabled_reason="Disabled after 5 failures", consecutive_failures=5
    )

    body = manage_client.patch(detail(endpoint.pk), {"is_active": True}, format="json").json()

    assert (body["is_active"], body["disabled_reason"]) == (True, "")
    assert WebhookEndpoint.all_tenants.get(pk=endpoint.pk).consecutive_failures == 0


def test_pausing_an_endpoint_says_who_disabled_it(manage_client, endpoint):
    body = manage_client.patch(detail(endpoint.pk), {"is_active": False}, format="json").json()

    assert (body["is_active"], body["disabled_reason"]) == (False, "Disabled by the organization.")


def test_delete_removes_the_endpoint_and_its_log(manage_client, endpoint, make_delivery):
    make_delivery(endpoint)

    assert manage_client.delete(detail(endpoint.pk)).status_code == 204
    assert not WebhookEndpoint.all_tenants.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.all_tenants.filter(endpoint_id=endpoint.pk).exists()


def test_sending_a_test_event_queues_a_delivery(manage_client, endpoint):
    response = manage_client.post(detail(endpoint.pk) + "test/")

    body = response.json()
    assert (body["event_type"], body["status"], body["endpoint"]) == ("webhook.test", "pending", str(endpoint.pk))
    assert [d["id"] for d in manage_client.get(detail(endpoint.pk) + "deliveries/").json()["results"]] == [body["id"]]


def test_a_test_event_to_a_disabled_endpoint_answers_409(manage_client, tenant, make_endpoint):
    endpoint = make_endpoint(tenant, is_active=False)

    response = manage_client.post(detail(endpoint.pk) + "test/")

    assert response.status_code == 409
    assert_error_shape(response.json(), "conflict")


def test_deliveries_are_listed_newest_first_and_paginated(
    manage_client, endpoint, make_delivery, make_endpoint, tenant
):
    made = [make_delivery(endpoint) for _ in range(3)]
    for n, delivery in enumerate(made):
        WebhookDelivery.all_tenants.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(minutes=10 - n))
    make_delivery(make_endpoint(tenant))  # another endpoint's

    first = manage_client.get(detail(endpoint.pk) + "deliveries/", {"limit": 2}).json()
    second = manage_client.get(detail(endpoint.pk) + "deliveries/", {"limit": 2, "offset": 2}).json()

    assert first["count"] == 3
    assert [d["id"] for d in first["results"] + second["results"]] == [str(d.pk) for d in reversed(made)]
    assert set(first["results"][0]) >= {
        "event_id",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "response_excerpt",
        "delivered_at",
    }
