"""A test event end to end: the API queues it, a real Celery worker sends it to a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import spec_signature, wait_for
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _the_worker_may_reach_the_local_receiver() -> Iterator[None]:
    """Private targets are refused unless allowed, in development too: the worker started for this module
    is allowed the receiver on 127.0.0.1."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "1")
        yield


def test_a_worker_delivers_the_test_event_after_commit(tenant, key_client, receiver, celery_worker_process):
    client = key_client(tenant, scopes=("manage",))
    endpoint = client.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json").json()

    queued = client.post(f"/api/v1/webhooks/{endpoint['id']}/test/")

    assert queued.status_code == 202
    [request] = wait_for(lambda: receiver.requests, 60, "the delivery to arrive")
    assert request.json()["type"] == "webhook.test"
    assert request.headers["webhook-signature"] == spec_signature(
        endpoint["secret"],
        request.headers["webhook-id"],
        int(request.headers["webhook-timestamp"]),
        request.body.decode(),
    )
    delivery = wait_for(
        lambda: WebhookDelivery.all_tenants.filter(pk=queued.json()["id"], status="succeeded").first(),
        30,
        "the delivery to be logged",
    )
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
