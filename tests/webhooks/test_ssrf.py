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


@LOCKED_DOWN
@pytest.mark.parametrize(
    "host",
    [
        pytest.param("[64:ff9b::7f00:1]", id="nat64-loopback"),
        pytest.param("[64:ff9b::a9fe:a9fe]", id="nat64-metadata"),
        pytest.param("[64:ff9b:1::a00:1]", id="nat64-local-use"),
        pytest.param("[2002:7f00:1::]", id="6to4-loopback"),
        pytest.param("[2002:a00:1::1]", id="6to4-private"),
        pytest.param("[::127.0.0.1]", id="ipv4-compatible-loopback"),
        pytest.param("[::10.0.0.1]", id="ipv4-compatible-private"),
        pytest.param("[::ffff:0:7f00:1]", id="ipv4-translated-loopback"),
        pytest.param("[::ffff:0:c0a8:101]", id="ipv4-translated-private"),
        pytest.param("[::ffff:169.254.169.254]", id="ipv4-mapped-metadata"),
        pytest.param("[::ffff:10.0.0.1]", id="ipv4-mapped-private"),
    ],
)
def test_ipv6_forms_carrying_an_internal_ipv4_address_are_refused(tenant, host):
    with pytest.raises(InvalidInput) as refused:
        endpoint_create(tenant=tenant, url=f"https://{host}/hook", events=["*"])

    assert refused.value.code == "private_address"


@LOCKED_DOWN
@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"], ids=str
)
def test_ipv6_forms_carrying_a_public_ipv4_address_are_accepted(tenant, monkeypatch, address):
    monkeypatch.setattr(network, "_resolve", lambda host, port: [address])

    assert check_url("https://hooks.example.com/in").address == address


@LOCKED_DOWN
@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "2002:a00:1::1", "::ffff:0:a00:1"])
def test_a_host_name_resolving_to_an_ipv6_form_of_an_internal_address_is_refused(tenant, monkeypatch, address):
    monkeypatch.setattr(network, "_resolve", lambda host, port: [address])

    with pytest.raises(InvalidInput) as refused:
        endpoint_create(tenant=tenant, url="https://hooks.example.com/in", events=["*"])

    assert refused.value.code == "private_address"


PRODUCTION_PORTS = override_settings(
    WEBHOOK_ALLOW_HTTP=False, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False, WEBHOOK_ALLOWED_PORTS=[443, 8443]
)


@PRODUCTION_PORTS
@pytest.mark.parametrize("url", ["https://hooks.example.com/in", "https://hooks.example.com:8443/in"])
def test_ports_443_and_8443_are_accepted_in_production(tenant, url):
    endpoint = endpoint_create(tenant=tenant, url=url, events=["*"])

    assert endpoint.url == url


@PRODUCTION_PORTS
@pytest.mark.parametrize("port", [22, 25, 80, 6379, 8080, 9200])
def test_other_ports_are_refused_in_production(tenant, port):
    with pytest.raises(InvalidInput) as refused:
        endpoint_create(tenant=tenant, url=f"https://hooks.example.com:{port}/in", events=["*"])

    assert (refused.value.code, refused.value.field) == ("port_not_allowed", "url")
    assert "443, 8443" in refused.value.message


@override_settings(WEBHOOK_ALLOWED_PORTS=[], WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_any_port_is_accepted_when_no_ports_are_listed(tenant):
    endpoint = endpoint_create(tenant=tenant, url="https://hooks.example.com:9200/in", events=["*"])

    assert endpoint.url.endswith(":9200/in")


def test_private_targets_are_refused_by_default_in_development_too():
    from config import settings as project_settings

    assert project_settings.DEBUG  # the tests run as development does
    assert project_settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS is False


def test_the_production_port_list_is_443_and_8443(monkeypatch):
    import importlib

    from config import settings as project_settings

    monkeypatch.setenv("DEBUG", "0")
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    monkeypatch.delenv("WEBHOOK_ALLOWED_PORTS", raising=False)
    try:
        production = importlib.reload(project_settings)
        assert production.WEBHOOK_ALLOWED_PORTS == [443, 8443]
    finally:
        monkeypatch.undo()
        importlib.reload(project_settings)
