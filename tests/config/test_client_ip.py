"""The client's address behind TRUSTED_PROXY_COUNT proxies: what the audit log records and what
allauth's per-IP login limit counts. X-Forwarded-For from the client itself changes neither."""

from __future__ import annotations

import pytest

from config.middleware import forwarded_client_ip
from tenants.models import AuditEvent
from tests.factories import dashboard_url, make_api_key

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
TOO_MANY = "Too many failed login attempts"


def revoke_with(client, tenant, owner, **headers) -> str | None:
    """Revoke a key on the dashboard with these request headers; the address its audit event records."""
    key, _ = make_api_key(tenant)
    client.force_login(owner.user)
    response = client.post(dashboard_url("api-key-revoke", tenant, public_id=key.public_id), **headers)
    assert response.status_code == 302
    event = AuditEvent.objects.for_tenant(tenant).get(action="api_key.revoked", target_label=str(key))
    return event.ip_address


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(client, tenant, owner, settings):
    settings.TRUSTED_PROXY_COUNT = 0

    ip = revoke_with(client, tenant, owner, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66")

    assert ip == PROXY


def test_behind_one_proxy_the_audit_log_records_the_address_it_saw(client, tenant, owner, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    ip = revoke_with(client, tenant, owner, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.7")

    assert ip == "203.0.113.7", "the entry the proxy appended, not the one the client wrote"


def test_behind_two_proxies_the_second_entry_from_the_right_counts(client, tenant, owner, settings):
    settings.TRUSTED_PROXY_COUNT = 2

    ip = revoke_with(
        client, tenant, owner, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.7, 10.0.0.9"
    )

    assert ip == "203.0.113.7"


@pytest.mark.parametrize(
    ("header", "count", "expected"),
    [
        ("203.0.113.7", 0, None),
        ("203.0.113.7", 1, "203.0.113.7"),
        ("1.1.1.1,203.0.113.7", 1, "203.0.113.7"),
        (" 2001:db8::1 , 10.0.0.9", 2, "2001:db8::1"),
        ("203.0.113.7", 2, None),
        ("1.1.1.1, not-an-address", 1, None),
    ],
    ids=["no-proxy", "one", "spoofed-left", "ipv6-two", "too-few-hops", "garbage"],
)
def test_forwarded_client_ip(header, count, expected):
    assert forwarded_client_ip(header, count) == expected


def failed_login(client, n: int, **headers) -> str:
    response = client.post(
        "/accounts/login/", {"login": f"nobody{n}@example.com", "password": "wrong-password-1"}, **headers
    )
    return response.content.decode()


def test_spoofed_forwarded_for_does_not_escape_the_per_ip_login_limit(client, own_cache, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(10):
        assert TOO_MANY not in failed_login(client, n, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    assert TOO_MANY in failed_login(client, 99, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.99")


def test_behind_a_proxy_the_login_limit_counts_each_client(client, own_cache, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"198.51.100.{n}, 203.0.113.7"}
        assert TOO_MANY not in failed_login(client, n, **attacker)

    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.99, 203.0.113.7"}
    assert TOO_MANY in failed_login(client, 99, **attacker), "the left part, the client's own, changes nothing"
    someone_else = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.8"}
    assert TOO_MANY not in failed_login(client, 100, **someone_else), "another client behind the same proxy"
