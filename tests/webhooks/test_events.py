"""emit_event: one delivery per subscribed active endpoint, sent only once the caller's transaction commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from tenants.errors import Conflict, NotFound
from webhooks.models import WebhookDelivery
from webhooks.services import emit_event, send_test_event
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db


def deliveries(tenant):
    return list(WebhookDelivery.objects.for_tenant(tenant))


def test_only_active_subscribed_endpoints_get_a_delivery(tenant, make_endpoint):
    subscribed = make_endpoint(tenant, events=["training_run.succeeded", "training_run.failed"])
    everything = make_endpoint(tenant, events=["*"])
    make_endpoint(tenant, events=["dataset.checked"])
    make_endpoint(tenant, events=["*"], is_active=False)

    created = emit_event(tenant=tenant, event_type="training_run.succeeded", data={"training_run_id": "r1"})

    assert {d.endpoint_id for d in created} == {subscribed.pk, everything.pk}
    assert {d.pk for d in deliveries(tenant)} == {d.pk for d in created}


def test_every_delivery_of_one_event_shares_its_id_and_body(tenant, make_endpoint):
    make_endpoint(tenant)
    make_endpoint(tenant)

    first, second = emit_event(tenant=tenant, event_type="model.deployed", data={"model_id": "m1"})

    assert first.event_id == second.event_id
    assert first.event_id.startswith("msg_")
    assert first.payload == second.payload
    assert first.payload["type"] == "model.deployed"
    assert first.payload["data"] == {"model_id": "m1"}
    assert (first.status, first.attempts) == ("pending", 0)


def test_another_tenants_endpoints_get_nothing(tenant, other_tenant, make_endpoint):
    make_endpoint(other_tenant)

    assert emit_event(tenant=tenant, event_type="dataset.checked", data={}) == []
    assert deliveries(other_tenant) == []


def test_deliveries_are_handed_to_a_worker_after_commit(
    tenant, make_endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    handed = []
    monkeypatch.setattr(deliver_webhook, "delay", lambda **kwargs: handed.append(kwargs))
    make_endpoint(tenant)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [delivery] = emit_event(tenant=tenant, event_type="dataset.checked", data={"dataset_id": "d1"})
        assert handed == []

    for callback in callbacks:
        callback()
    assert handed == [{"tenant_id": str(tenant.pk), "delivery_id": str(delivery.pk)}]


def test_nothing_is_created_or_sent_when_the_transaction_rolls_back(
    tenant, make_endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    handed = []
    monkeypatch.setattr(deliver_webhook, "delay", lambda **kwargs: handed.append(kwargs))
    make_endpoint(tenant)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        emit_event(tenant=tenant, event_type="dataset.checked", data={})
        raise RuntimeError("the caller failed after emitting")

    assert deliveries(tenant) == []
    assert handed == []


def test_an_unknown_event_type_is_a_programming_error(tenant):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        emit_event(tenant=tenant, event_type="training_run.exploded", data={})


def test_data_that_is_not_json_is_refused_in_the_caller(tenant, make_endpoint):
    make_endpoint(tenant)

    with pytest.raises(TypeError):
        emit_event(tenant=tenant, event_type="dataset.checked", data={"when": object()})


def test_a_test_event_goes_to_that_endpoint_whatever_it_subscribes_to(tenant, make_endpoint):
    endpoint = make_endpoint(tenant, events=["dataset.checked"])
    make_endpoint(tenant, events=["*"])

    delivery = send_test_event(tenant=tenant, endpoint_id=endpoint.pk)

    assert (delivery.endpoint_id, delivery.event_type) == (endpoint.pk, "webhook.test")
    assert delivery.payload["data"]["endpoint_id"] == str(endpoint.pk)
    assert len(deliveries(tenant)) == 1


def test_a_test_event_to_a_disabled_endpoint_is_a_conflict(tenant, make_endpoint):
    endpoint = make_endpoint(tenant, is_active=False)

    with pytest.raises(Conflict):
        send_test_event(tenant=tenant, endpoint_id=endpoint.pk)


def test_a_test_event_to_another_tenants_endpoint_is_not_found(tenant, other_tenant, make_endpoint):
    endpoint = make_endpoint(other_tenant)

    with pytest.raises(NotFound):
        send_test_event(tenant=tenant, endpoint_id=endpoint.pk)
