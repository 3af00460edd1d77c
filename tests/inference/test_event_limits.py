"""Monitor events carry bounded metadata and sources: over the limits, a 400 naming the event's field,
before the model runs or anything is stored."""

from __future__ import annotations

import pytest

from inference.models import MonitorEvent
from tests.factories import ProjectFactory


@pytest.fixture
def client(tenant, key_client):
    return key_client(tenant)


@pytest.fixture
def monitor(client, tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Mentions", use_case="monitoring")
    deploy(project, "full")
    response = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post(client, monitor, *events):
    return client.post(f"/api/v1/monitors/{monitor['id']}/events/", {"events": list(events)}, format="json")


def refusal(response):
    assert response.status_code == 400, response.content
    assert MonitorEvent.all_tenants.count() == 0
    return {d["field"]: d["message"] for d in response.json()["error"]["details"]}


def test_metadata_over_4_kb_is_refused_naming_the_event(client, monitor):
    ok = {"text": "pizza", "metadata": {"note": "x" * 100}}
    big = {"text": "soup", "metadata": {"note": "x" * 4100}}

    errors = refusal(post(client, monitor, ok, big))

    assert list(errors) == ["events.1.metadata"]
    assert "4,096 bytes" in errors["events.1.metadata"]


def test_metadata_counts_bytes_not_characters(client, monitor):
    # 1,500 characters of three bytes each: 4,500 bytes of UTF-8.
    errors = refusal(post(client, monitor, {"text": "pizza", "metadata": {"note": "€" * 1500}}))

    assert list(errors) == ["events.0.metadata"]


def test_metadata_nested_more_than_5_levels_is_refused(client, monitor):
    errors = refusal(post(client, monitor, {"text": "pizza", "metadata": {"a": {"b": {"c": {"d": {"e": {}}}}}}}))

    assert list(errors) == ["events.0.metadata"]
    assert "5 levels" in errors["events.0.metadata"]


def test_a_source_over_100_characters_is_refused(client, monitor):
    errors = refusal(post(client, monitor, {"text": "pizza", "source": "s" * 101}))

    assert list(errors) == ["events.0.source"]


def test_metadata_and_source_at_their_limits_are_stored(client, monitor):
    nested = {"a": {"b": {"c": ["five levels"]}}}
    note = "x" * (4096 - len('{"nested":{"a":{"b":{"c":["five levels"]}}},"note":""}'))
    metadata = {"nested": nested, "note": note}  # 4,096 bytes as compact JSON, five levels deep

    response = post(client, monitor, {"text": "pizza", "source": "s" * 100, "metadata": metadata})

    assert response.status_code == 200, response.content
    stored = MonitorEvent.all_tenants.get()
    assert stored.metadata == metadata
    assert stored.source == "s" * 100
