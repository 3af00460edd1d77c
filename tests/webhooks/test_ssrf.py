"""Webhook URLs cannot reach plain http or the internal network unless settings allow it (SSRF)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tenants.errors import InvalidInput
from tests.factories import PUBLIC_ADDRESS
from webhooks import network
from webhooks.models import WebhookDelivery
from webhooks.network import check_url
from webhooks.services import endpoint_create, endpoint_update
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db

LOCKED_DOWN = override_settings(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)


@LOCKED_DOWN
def test_plain_http_is_refused_when_not_allowed(tenant):
    with pytest.raises(InvalidInput, match="https://") as refused:
        endpoint_create(tenant=tenant, url=f"http://{PUBLIC_ADDRESS}/hook", events=["*"])

    assert (refused.value.code, refused.value.field) == ("insecure_url", "url")


@override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_plain_http_is_accepted_when_allowed(tenant):
    endpoint = endpoint_create(tenant=tenant, url=f"http://{PUBLIC_ADDRESS}/hook", events=["*"])

    assert endpoint.url == f"http://{PUBLIC_ADDRESS}/hook"


@LOCKED_DOWN
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - a URL under test, nothing binds to it
        "224.0.0.1",
        "[::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
    ],
)
def test_private_loopback_link_local_and_multicast_addresses_are_refused(tenant, host):
    with pytest.raises(InvalidInput) as refused:
        endpoint_create(tenant=tenant, url=f"https://{host}/hook", events=["*"])

    assert refused.value.code == "private_address"


@LOCKED_DOWN
def test_a_host_name_resolving_to_a_private_address_is_refused(tenant, monkeypatch):
    monkeypatch.setattr(network, "_resolve", lambda host, port: [PUBLIC_ADDRESS, "10.0.0.5"])

    with pytest.raises(InvalidInput, match="private"):
        endpoint_create(tenant=tenant, url="https://internal.example.com/hook", events=["*"])


@LOCKED_DOWN
def test_a_public_https_url_is_accepted(tenant, monkeypatch):
    monkeypatch.setattr(network, "_resolve", lambda host, port: [PUBLIC_ADDRESS])

    endpoint = endpoint_create(tenant=tenant, url="https://hooks.example.com/in", events=["*"])

    assert endpoint.is_active


@LOCKED_DOWN
def test_an_unresolvable_host_is_refused(tenant, monkeypatch):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(network, "_resolve", fail)

    with pytest.raises(InvalidInput, match="could not be resolved"):
        endpoint_create(tenant=tenant, url="https://nowhere.invalid/hook", events=["*"])


@LOCKED_DOWN
def test_changing_the_url_to_a_private_address_is_refused(tenant, make_endpoint):
    endpoint = make_endpoint(tenant)

    with pytest.raises(InvalidInput, match="private"):
        endpoint_update(tenant=tenant, endpoint_id=endpoint.pk, url="https://10.0.0.1/hook")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "https:///nohost", "https://user:pw@example.com/", "https://example.com:99999/"]
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(InvalidInput):
        check_url(url)


def test_the_address_is_checked_again_at_delivery_time(tenant, receiver, make_endpoint, make_delivery, monkeypatch):
    # Registered while allowed (or the DNS answer changed since): the delivery must still not go out.
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    with LOCKED_DOWN:
        deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(delivery.pk))

    delivery = WebhookDelivery.all_tenants.get(pk=delivery.pk)
    assert receiver.requests == []
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("Not sent:")


@override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_delivery_connects_to_the_address_that_was_checked(tenant, receiver, make_endpoint, make_delivery, monkeypatch):
    # A second DNS answer (rebinding) cannot redirect the connection: it goes where the check looked.
    port = int(receiver.url.split(":")[2].split("/")[0])
    monkeypatch.setattr(network, "_resolve", lambda host, port: [PUBLIC_ADDRESS])
    connected = []

    def create_connection(address, timeout=None):
        connected.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(network.socket, "create_connection", create_connection)
    delivery = make_delivery(make_endpoint(tenant, url=f"http://hooks.example.com:{port}/in"))

    deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(delivery.pk))

    assert connected == [(PUBLIC_ADDRESS, port)]
    assert receiver.requests == []
