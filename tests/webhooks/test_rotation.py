"""Rotating an endpoint's signing secret: both signatures during the overlap, then only the new one."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tenants.models import Role
from webhooks.models import WebhookEndpoint
from webhooks.services import send_test_event
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db


def rotate(endpoint_id: object) -> str:
    return f"/api/v1/webhooks/{endpoint_id}/rotate-secret/"


def verifies(secret: str, request) -> bool:
    """A receiver's check, by the Standard Webhooks recipe: any of the space-separated ``v1,`` signatures."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.{request.body.decode()}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (item.partition(",") for item in request.headers["webhook-signature"].split(" "))
    )


def deliver_test_event(tenant, endpoint) -> None:
    delivery = send_test_event(tenant=tenant, endpoint_id=endpoint.pk)
    assert deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(delivery.pk)) == "succeeded"


def test_rotate_secret_returns_the_new_secret_once(tenant, key_client, make_endpoint):
    endpoint = make_endpoint(tenant)
    old = endpoint.secret

    response = key_client(tenant, scopes=("manage",)).post(rotate(endpoint.pk))

    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert "previous_secret" not in response.json()
    assert WebhookEndpoint.objects.for_tenant(tenant).get().secret == new


def test_both_signatures_verify_during_the_overlap_and_only_the_new_after(
    tenant, key_client, receiver, make_endpoint, settings
):
    settings.WEBHOOK_SECRET_OVERLAP_H = 24
    endpoint = make_endpoint(tenant, url=receiver.url)
    old = endpoint.secret
    rotated_at = timezone.now()
    with time_machine.travel(rotated_at, tick=False):
        new = key_client(tenant, scopes=("manage",)).post(rotate(endpoint.pk)).json()["secret"]

    with time_machine.travel(rotated_at + timedelta(hours=23, minutes=59)):
        deliver_test_event(tenant, endpoint)
    with time_machine.travel(rotated_at + timedelta(hours=24, minutes=1)):
        deliver_test_event(tenant, endpoint)

    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(new, during) and verifies(old, during)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, after) and not verifies(old, after)


def test_before_any_rotation_one_signature_is_sent(tenant, receiver, make_endpoint):
    endpoint = make_endpoint(tenant, url=receiver.url)

    deliver_test_event(tenant, endpoint)

    [request] = receiver.requests
    assert " " not in request.headers["webhook-signature"]
    assert verifies(endpoint.secret, request)


def test_rotating_twice_drops_the_oldest_secret_at_once(tenant, key_client, receiver, make_endpoint):
    endpoint = make_endpoint(tenant, url=receiver.url)
    client = key_client(tenant, scopes=("manage",))
    oldest = endpoint.secret
    middle = client.post(rotate(endpoint.pk)).json()["secret"]
    newest = client.post(rotate(endpoint.pk)).json()["secret"]

    deliver_test_event(tenant, endpoint)

    [request] = receiver.requests
    assert verifies(newest, request) and verifies(middle, request)
    assert not verifies(oldest, request)


def test_rotating_needs_the_manage_scope(tenant, key_client, make_endpoint):
    endpoint = make_endpoint(tenant)

    response = key_client(tenant, scopes=("predict",)).post(rotate(endpoint.pk))

    assert response.status_code == 403
    assert WebhookEndpoint.objects.for_tenant(tenant).get().secret == endpoint.secret


def test_another_tenants_endpoint_cannot_be_rotated(tenant, other_tenant, key_client, make_endpoint):
    endpoint = make_endpoint(other_tenant)

    response = key_client(tenant, scopes=("manage",)).post(rotate(endpoint.pk))

    assert response.status_code == 404
    assert WebhookEndpoint.all_tenants.get(pk=endpoint.pk).secret == endpoint.secret


def test_the_dashboard_button_rotates_the_secret(client, tenant, member_of, make_endpoint):
    endpoint = make_endpoint(tenant)
    client.force_login(member_of(tenant, Role.ADMIN).user)
    page = reverse("dashboard:webhook-detail", kwargs={"tenant_slug": tenant.slug, "endpoint_id": endpoint.pk})

    html = client.post(page, {"action": "rotate"}, follow=True).content.decode()

    rotated = WebhookEndpoint.objects.for_tenant(tenant).get()
    assert rotated.secret != endpoint.secret
    assert rotated.secret in html
    assert "signed with the old one too" in html
    assert 'id="webhook-secret-overlap"' in html


def test_a_member_cannot_rotate_from_the_dashboard(client, tenant, member_of, make_endpoint):
    endpoint = make_endpoint(tenant)
    client.force_login(member_of(tenant, Role.MEMBER).user)
    page = reverse("dashboard:webhook-detail", kwargs={"tenant_slug": tenant.slug, "endpoint_id": endpoint.pk})

    assert client.post(page, {"action": "rotate"}).status_code == 403
    assert WebhookEndpoint.objects.for_tenant(tenant).get().secret == endpoint.secret
