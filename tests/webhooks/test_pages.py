"""Webhook pages of the dashboard: add an endpoint, see its secret, send a test event, the log; roles."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tenants.models import Role
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create


def url(name, tenant, **kwargs):
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})


@pytest.fixture
def endpoint(tenant):
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True):
        return endpoint_create(tenant=tenant, url="http://127.0.0.1:9/hook", events=["model.deployed"])


@override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
def test_an_admin_adds_an_endpoint_and_sees_its_secret(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.ADMIN).user)

    response = client.post(
        url("webhook-list", tenant), {"url": "http://127.0.0.1:9/hook", "events": ["dataset.checked", "model.deployed"]}
    )

    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    assert endpoint.events == ["dataset.checked", "model.deployed"]
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page


@override_settings(WEBHOOK_ALLOW_HTTP=False)
def test_an_unsafe_url_is_a_form_error(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.ADMIN).user)

    response = client.post(url("webhook-list", tenant), {"url": "http://example.com/hook", "events": ["*"]})

    assert response.status_code == 400
    assert "https" in response.content.decode()
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


def test_send_test_event_from_the_page_logs_a_delivery(
    client, tenant, member_of, endpoint, django_capture_on_commit_callbacks
):
    client.force_login(member_of(tenant, Role.OWNER).user)

    client.post(url("webhook-detail", tenant, endpoint_id=endpoint.pk), {"action": "test"})

    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert delivery.event_type == "webhook.test"
    assert "webhook.test" in client.get(url("webhook-detail", tenant, endpoint_id=endpoint.pk)).content.decode()


def test_disable_and_delete_from_the_page(client, tenant, member_of, endpoint):
    client.force_login(member_of(tenant, Role.ADMIN).user)

    client.post(url("webhook-detail", tenant, endpoint_id=endpoint.pk), {"action": "disable"})
    assert WebhookEndpoint.objects.for_tenant(tenant).get().is_active is False
    client.post(url("webhook-detail", tenant, endpoint_id=endpoint.pk), {"action": "delete"})
    assert not WebhookEndpoint.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("page", ["webhook-list", "webhook-detail"])
def test_roles_and_tenants(client, tenant, other_tenant, member_of, endpoint, method, page):
    target = url(page, tenant, **({"endpoint_id": endpoint.pk} if page == "webhook-detail" else {}))
    send = getattr(client, method)

    assert "/accounts/login/" in send(target)["Location"]
    client.force_login(member_of(tenant, Role.MEMBER).user)
    assert send(target).status_code == 403
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    assert send(target).status_code == 404
    assert WebhookEndpoint.objects.for_tenant(tenant).get().is_active is True
