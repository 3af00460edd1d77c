"""Delivering events to a real HTTP server: headers, body, signature, retries, giving up, disabling."""

from __future__ import annotations

import socket
import ssl
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import spec_signature
from webhooks import network, services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery, emit_event, send_test_event
from webhooks.signing import sign
from webhooks.tasks import deliver_due_webhooks, deliver_webhook

pytestmark = pytest.mark.django_db


def run(delivery: WebhookDelivery) -> str:
    """What a worker does with the task's message."""
    return deliver_webhook(tenant_id=str(delivery.tenant_id), delivery_id=str(delivery.pk))


def reload(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.all_tenants.get(pk=delivery.pk)


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.all_tenants.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_the_receiver_gets_the_event_with_standard_webhooks_headers(tenant, receiver, make_endpoint):
    make_endpoint(tenant, url=receiver.url)
    [delivery] = emit_event(tenant=tenant, event_type="training_run.succeeded", data={"training_run_id": "r1"})

    assert run(delivery) == "succeeded"

    [request] = receiver.requests
    assert request.path == "/hooks/tunebase?source=test"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Tunebase-Webhooks/1"
    assert request.headers["webhook-id"] == delivery.event_id
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    body = request.json()
    assert body["type"] == "training_run.succeeded"
    assert body["data"] == {"training_run_id": "r1"}
    assert body["timestamp"].endswith("Z")


def test_the_signature_received_verifies_with_the_endpoints_secret(tenant, receiver, make_endpoint):
    endpoint = make_endpoint(tenant, url=receiver.url)
    delivery = send_test_event(tenant=tenant, endpoint_id=endpoint.pk)

    run(delivery)

    [request] = receiver.requests
    expected = spec_signature(
        endpoint.secret, request.headers["webhook-id"], int(request.headers["webhook-timestamp"]), request.body.decode()
    )
    assert request.headers["webhook-signature"] == expected
    assert request.headers["webhook-signature"] == sign(
        endpoint.secret, delivery.event_id, int(request.headers["webhook-timestamp"]), request.body
    )


def test_a_successful_delivery_is_logged(tenant, receiver, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    run(delivery)

    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.response_excerpt == '{"ok": true}'
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    assert delivery.last_error == ""


def test_the_response_excerpt_keeps_the_first_500_characters(tenant, receiver, make_endpoint, make_delivery):
    receiver.body = b"x" * 5000
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    run(delivery)

    assert reload(delivery).response_excerpt == "x" * 500


def test_a_500_is_retried_after_the_first_backoff_and_then_succeeds(tenant, receiver, make_endpoint, make_delivery):
    receiver.statuses = [500, 200]
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    before = timezone.now()
    assert run(delivery) == "pending"

    failed = reload(delivery)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert "HTTP 500" in failed.last_error
    assert before + timedelta(seconds=27) <= failed.next_attempt_at <= timezone.now() + timedelta(seconds=33)

    make_due(delivery)
    assert run(delivery) == "succeeded"

    done = reload(delivery)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == ("succeeded", 2, 200, "")
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]


def test_a_delivery_not_yet_due_is_not_sent(tenant, receiver, make_endpoint, make_delivery):
    receiver.statuses = [500]
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))
    run(delivery)

    assert run(delivery) == "not claimed"
    assert len(receiver.requests) == 1


def test_a_claimed_delivery_cannot_be_claimed_again(tenant, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(tenant))

    first = services.delivery_claim(tenant_id=tenant.pk, delivery_id=delivery.pk)
    second = services.delivery_claim(tenant_id=tenant.pk, delivery_id=delivery.pk)

    assert first is not None
    assert second is None
    assert reload(delivery).attempts == 1


def test_another_tenant_cannot_claim_the_delivery(tenant, other_tenant, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(tenant))

    assert services.delivery_claim(tenant_id=other_tenant.pk, delivery_id=delivery.pk) is None


@pytest.mark.parametrize(
    ("failed_attempts", "seconds"), [(1, 30), (2, 120), (3, 600), (4, 3600), (5, 6 * 3600), (6, 86400), (9, 86400)]
)
def test_backoff_grows_exponentially_with_jitter(failed_attempts, seconds):
    delays = {services.retry_delay(failed_attempts).total_seconds() for _ in range(20)}

    assert all(seconds * 0.9 <= d <= seconds * 1.1 for d in delays)
    assert len(delays) > 1


def test_the_delivery_fails_after_the_last_attempt(tenant, receiver, make_endpoint, make_delivery, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [503, 503, 503, 200]
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    outcomes = []
    for _ in range(3):
        make_due(delivery)
        outcomes.append(run(delivery))

    assert outcomes == ["pending", "pending", "failed"]
    gave_up = reload(delivery)
    assert (gave_up.status, gave_up.attempts, gave_up.last_status_code) == ("failed", 3, 503)
    assert gave_up.next_attempt_at is None
    make_due(delivery)
    assert run(delivery) == "not claimed"
    assert len(receiver.requests) == 3


def test_a_refused_connection_is_recorded_as_an_error(tenant, make_endpoint, make_delivery):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    delivery = make_delivery(make_endpoint(tenant, url=f"http://127.0.0.1:{closed_port}/"))

    assert run(delivery) == "pending"

    failed = reload(delivery)
    assert failed.last_status_code is None
    assert failed.last_error


def test_a_redirect_is_not_followed(tenant, receiver, make_endpoint, make_delivery):
    receiver.statuses = [302]
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    run(delivery)

    assert (reload(delivery).status, reload(delivery).last_status_code) == ("pending", 302)
    assert len(receiver.requests) == 1


def test_the_endpoint_is_disabled_after_deliveries_keep_failing(
    tenant, receiver, make_endpoint, make_delivery, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = make_endpoint(tenant, url=receiver.url)
    receiver.statuses = [500] * delivery.DISABLE_AFTER_FAILED_DELIVERIES
    waiting = make_delivery(endpoint, next_attempt_at=timezone.now() + timedelta(hours=1))

    for _ in range(delivery.DISABLE_AFTER_FAILED_DELIVERIES):
        assert run(make_delivery(endpoint)) == "failed"

    endpoint = WebhookEndpoint.all_tenants.get(pk=endpoint.pk)
    assert endpoint.is_active is False
    assert f"{delivery.DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row failed" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    assert reload(waiting).status == "failed"


def test_a_success_resets_the_failure_count(tenant, receiver, make_endpoint, make_delivery, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = make_endpoint(tenant, url=receiver.url)
    receiver.statuses = [500] * (delivery.DISABLE_AFTER_FAILED_DELIVERIES - 1) + [200, 500]

    for _ in range(delivery.DISABLE_AFTER_FAILED_DELIVERIES + 1):
        run(make_delivery(endpoint))

    endpoint = WebhookEndpoint.all_tenants.get(pk=endpoint.pk)
    assert endpoint.is_active is True
    assert endpoint.consecutive_failures == 1


def test_a_disabled_endpoint_gets_nothing(tenant, receiver, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url, is_active=False))

    assert run(delivery) == "failed"
    assert receiver.requests == []
    assert "disabled" in reload(delivery).last_error


def test_the_periodic_task_hands_over_due_deliveries_once(
    tenant, other_tenant, make_endpoint, make_delivery, monkeypatch
):
    handed = []
    monkeypatch.setattr(deliver_webhook, "delay", lambda **kwargs: handed.append(kwargs))
    due = make_delivery(make_endpoint(tenant))
    theirs = make_delivery(make_endpoint(other_tenant))
    make_delivery(make_endpoint(tenant), next_attempt_at=timezone.now() + timedelta(minutes=5))
    make_delivery(make_endpoint(tenant), status="succeeded")

    assert deliver_due_webhooks() == 2
    assert deliver_due_webhooks() == 0  # just handed over: not again until REQUEUE_AFTER

    assert sorted(h["delivery_id"] for h in handed) == sorted([str(due.pk), str(theirs.pk)])
    assert {h["tenant_id"] for h in handed} == {str(tenant.pk), str(other_tenant.pk)}


def test_a_lost_hand_over_is_handed_over_again(tenant, make_endpoint, make_delivery, monkeypatch):
    handed = []
    monkeypatch.setattr(deliver_webhook, "delay", lambda **kwargs: handed.append(kwargs))
    make_delivery(make_endpoint(tenant), enqueued_at=timezone.now() - delivery.REQUEUE_AFTER - timedelta(seconds=1))

    assert deliver_due_webhooks() == 1


def test_the_tasks_are_registered_and_the_sender_is_scheduled(settings):
    from config.celery import app

    app.loader.import_default_modules()

    assert {"tenants.tasks.deliver_webhook", "tenants.tasks.deliver_due_webhooks"} <= set(app.tasks)
    assert settings.CELERY_BEAT_SCHEDULE["deliver-webhooks"] == {
        "task": "tenants.tasks.deliver_due_webhooks",
        "schedule": 30.0,
        "options": {"queue": "webhooks"},
    }


def test_https_verifies_the_certificate_against_the_host_name(
    tenant, https_receiver, certificate, make_endpoint, make_delivery, monkeypatch
):
    # The connection goes to the checked address (127.0.0.1 here) but TLS still checks hooks.example.com.
    monkeypatch.setattr(network, "_resolve", lambda host, port: ["127.0.0.1"])
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(network.ssl, "create_default_context", lambda: trusting)
    delivery = make_delivery(make_endpoint(tenant, url=https_receiver.url))

    assert run(delivery) == "succeeded"
    assert https_receiver.requests[0].path == "/hooks/tunebase?source=test"


def test_an_untrusted_certificate_fails_the_attempt(tenant, https_receiver, make_endpoint, make_delivery, monkeypatch):
    monkeypatch.setattr(network, "_resolve", lambda host, port: ["127.0.0.1"])
    delivery = make_delivery(make_endpoint(tenant, url=https_receiver.url))

    assert run(delivery) == "pending"
    assert reload(delivery).last_error.startswith("TLS error")
    assert https_receiver.requests == []
