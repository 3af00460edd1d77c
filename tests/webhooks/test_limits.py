"""Webhooks cannot crowd out other work: their own queue, a few sends per tenant at once, few test events."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tenants.models import Role
from webhooks.models import WebhookDelivery
from webhooks.services import deliver, deliveries_due_for_dispatch, delivery_claim
from webhooks.tasks import deliver_due_webhooks, deliver_webhook

pytestmark = pytest.mark.django_db


def test(endpoint_id: object) -> str:
    return f"/api/v1/webhooks/{endpoint_id}/test/"


test.__test__ = False  # type: ignore[attr-defined]


# --- test events: 5 a minute per endpoint --------------------------------------------------------------


def test_the_sixth_test_event_in_a_minute_gets_429_with_retry_after(tenant, key_client, make_endpoint):
    endpoint = make_endpoint(tenant)
    client = key_client(tenant, scopes=("manage",))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        codes = [client.post(test(endpoint.pk)).status_code for _ in range(5)]
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        refused = client.post(test(endpoint.pk))

    assert codes == [202] * 5
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"  # when the first of the five leaves the minute
    body = refused.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["retry_after_s"] == 40
    assert "5 test events" in body["error"]["message"]
    assert WebhookDelivery.objects.for_tenant(tenant).count() == 5


def test_the_limit_is_per_endpoint_and_frees_up_after_a_minute(tenant, key_client, make_endpoint):
    first, second = make_endpoint(tenant), make_endpoint(tenant)
    client = key_client(tenant, scopes=("manage",))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        for _ in range(5):
            client.post(test(first.pk))
        assert client.post(test(first.pk)).status_code == 429
        assert client.post(test(second.pk)).status_code == 202
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert client.post(test(first.pk)).status_code == 202


def test_the_dashboard_button_is_limited_too(client, tenant, member_of, make_endpoint):
    endpoint = make_endpoint(tenant)
    client.force_login(member_of(tenant, Role.ADMIN).user)
    page = reverse("dashboard:webhook-detail", kwargs={"tenant_slug": tenant.slug, "endpoint_id": endpoint.pk})

    for _ in range(6):
        response = client.post(page, {"action": "test"}, follow=True)

    assert WebhookDelivery.objects.for_tenant(tenant).count() == 5
    assert "5 test events in the last minute" in response.content.decode()


# --- per-tenant concurrency ----------------------------------------------------------------------------


def test_a_tenant_has_at_most_two_deliveries_being_sent(tenant, other_tenant, make_endpoint, make_delivery, settings):
    assert settings.WEBHOOK_MAX_IN_FLIGHT_PER_TENANT == 2
    endpoint = make_endpoint(tenant)
    first, second, third = (make_delivery(endpoint) for _ in range(3))
    elsewhere = make_delivery(make_endpoint(other_tenant))

    sending = [delivery_claim(tenant_id=tenant.pk, delivery_id=d.pk) for d in (first, second)]
    refused = delivery_claim(tenant_id=tenant.pk, delivery_id=third.pk)

    assert all(sending)
    assert refused is None
    waiting = WebhookDelivery.all_tenants.get(pk=third.pk)
    assert (waiting.status, waiting.attempts, waiting.enqueued_at) == ("pending", 0, None)
    # Another organization's deliveries are not held up.
    assert delivery_claim(tenant_id=other_tenant.pk, delivery_id=elsewhere.pk) is not None
    # The periodic sender hands the waiting one over again.
    assert (str(tenant.pk), str(third.pk)) in deliveries_due_for_dispatch()


def test_a_finished_send_frees_its_slot(tenant, receiver, make_endpoint, make_delivery):
    endpoint = make_endpoint(tenant, url=receiver.url)
    first, second, third = (make_delivery(endpoint) for _ in range(3))
    claimed = [delivery_claim(tenant_id=tenant.pk, delivery_id=d.pk) for d in (first, second)]
    assert delivery_claim(tenant_id=tenant.pk, delivery_id=third.pk) is None

    assert claimed[0] is not None
    assert deliver(claimed[0]) == "succeeded"

    assert deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(third.pk)) == "succeeded"
    assert WebhookDelivery.all_tenants.get(pk=first.pk).sending_until is None


def test_a_finished_send_hands_over_a_delivery_that_waited(
    tenant, receiver, make_endpoint, make_delivery, settings, monkeypatch
):
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_TENANT = 1
    handed: list[dict[str, str]] = []
    monkeypatch.setattr(deliver_webhook, "delay", lambda **kwargs: handed.append(kwargs))
    endpoint = make_endpoint(tenant, url=receiver.url)
    now = timezone.now()
    sending, waiting, next_one = (make_delivery(endpoint, enqueued_at=now) for _ in range(3))
    held = delivery_claim(tenant_id=tenant.pk, delivery_id=sending.pk)
    assert deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(waiting.pk)) == "not claimed"
    assert held is not None and deliver(held) == "succeeded"

    assert deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(next_one.pk)) == "succeeded"

    assert handed == [{"tenant_id": str(tenant.pk), "delivery_id": str(waiting.pk)}]
    assert WebhookDelivery.all_tenants.get(pk=waiting.pk).enqueued_at is not None


def test_a_dead_workers_slot_is_freed_when_its_lease_ends(tenant, make_endpoint, make_delivery, settings):
    endpoint = make_endpoint(tenant)
    first, second, third = (make_delivery(endpoint) for _ in range(3))
    for delivery in (first, second):
        delivery_claim(tenant_id=tenant.pk, delivery_id=delivery.pk)  # then the worker dies

    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert delivery_claim(tenant_id=tenant.pk, delivery_id=third.pk) is not None


def test_the_limit_is_a_setting(tenant, make_endpoint, make_delivery, settings):
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_TENANT = 3
    endpoint = make_endpoint(tenant)
    deliveries = [make_delivery(endpoint) for _ in range(4)]

    claimed = [delivery_claim(tenant_id=tenant.pk, delivery_id=d.pk) is not None for d in deliveries]

    assert claimed == [True, True, True, False]


# --- their own queue -----------------------------------------------------------------------------------


def _queue_of(task) -> str:
    from config.celery import app

    return app.amqp.router.route(task._get_exec_options(), task.name)["queue"].name


def test_deliveries_go_to_the_webhooks_queue(settings):
    assert _queue_of(deliver_webhook) == "webhooks"
    assert _queue_of(deliver_due_webhooks) == "webhooks"
    assert settings.CELERY_BEAT_SCHEDULE["deliver-webhooks"]["options"] == {"queue": "webhooks"}


def _queues_of(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(","))


def test_the_development_worker_consumes_the_webhooks_queue(monkeypatch):
    from config.management.commands import devserver

    started: list[list[str]] = []

    class Recorded:
        def __init__(self, command: list[str], **kwargs: object) -> None:
            started.append(command)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    devserver._start_worker()

    assert _queues_of(started[0]) == {"default", "training", "webhooks"}
