"""API key authentication and the key services: what is accepted, what is refused and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import Project
from tenants.errors import InvalidInput, NotFound
from tenants.models import ApiKey, AuditAction, AuditEvent
from tenants.services import api_key_create, api_key_revoke, tenant_set_active
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


def client_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def rejection(response) -> str:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert body["error"]["code"] == "authentication_failed"
    return body["error"]["message"]


def test_valid_key_gets_200(tenant):
    _, secret = make_api_key(tenant)

    assert client_with(f"Api-Key {secret}").get(URL).status_code == 200


def test_keyword_is_case_insensitive(tenant):
    _, secret = make_api_key(tenant)

    assert client_with(f"api-key {secret}").get(URL).status_code == 200


def test_revoked_key_gets_401_saying_revoked(tenant):
    api_key, secret = make_api_key(tenant)
    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)

    assert "revoked" in rejection(client_with(f"Api-Key {secret}").get(URL))


def test_a_key_revoked_after_use_is_refused_on_the_next_call(tenant):
    api_key, secret = make_api_key(tenant)
    client = client_with(f"Api-Key {secret}")
    assert client.get(URL).status_code == 200  # the key is now remembered by this process

    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)

    assert "revoked" in rejection(client.get(URL))


def test_a_suspension_after_use_locks_the_key_out_on_the_next_call(tenant):
    _, secret = make_api_key(tenant)
    client = client_with(f"Api-Key {secret}")
    assert client.get(URL).status_code == 200

    tenant_set_active(tenant=tenant, active=False, actor=None)

    assert "suspended" in rejection(client.get(URL))


def test_a_revocation_by_another_process_applies_within_the_lookup_ttl(tenant, settings, lookup_clock):
    settings.SERVING_LOOKUP_TTL_S = 0.3
    api_key, secret = make_api_key(tenant)
    client = client_with(f"Api-Key {secret}")
    assert client.get(URL).status_code == 200

    ApiKey.all_tenants.filter(pk=api_key.pk).update(revoked=True)  # no signal reaches this process
    lookup_clock.advance(0.29)
    assert client.get(URL).status_code == 200  # still remembered within the TTL
    lookup_clock.advance(0.02)

    assert "revoked" in rejection(client.get(URL))


def test_a_remembered_key_still_answers_only_its_own_secret(tenant):
    _, secret = make_api_key(tenant)
    assert client_with(f"Api-Key {secret}").get(URL).status_code == 200
    wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")  # the same prefix, another secret

    assert "Invalid API key" in rejection(client_with(f"Api-Key {wrong}").get(URL))


def test_expired_key_gets_401_naming_the_date(tenant):
    api_key, secret = make_api_key(tenant)
    expired_at = timezone.now() - timedelta(days=3)
    ApiKey.all_tenants.filter(pk=api_key.pk).update(expiry_date=expired_at)

    message = rejection(client_with(f"Api-Key {secret}").get(URL))

    assert "expired" in message
    assert expired_at.strftime("%Y-%m-%d") in message


def test_key_expiring_in_the_future_works(tenant):
    _, secret = make_api_key(tenant, expires_at=timezone.now() + timedelta(days=1))

    assert client_with(f"Api-Key {secret}").get(URL).status_code == 200


def test_wrong_secret_with_right_prefix_gets_401(tenant):
    _, secret = make_api_key(tenant)
    prefix, _, rest = secret.partition(".")
    forged = f"{prefix}.{'A' if rest[0] != 'A' else 'B'}{rest[1:]}"

    assert rejection(client_with(f"Api-Key {forged}").get(URL)) == "Invalid API key."


def test_unknown_prefix_gets_401(tenant):
    make_api_key(tenant)

    assert rejection(client_with("Api-Key zzzzzzzz.nothing-like-a-key").get(URL)) == "Invalid API key."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer x", "Unsupported Authorization scheme 'Bearer'"),
        ("Basic dXNlcjpwYXNz", "Unsupported Authorization scheme 'Basic'"),
        ("Api-Key", "No key after 'Api-Key'"),
        ("Api-Key    ", "No key after 'Api-Key'"),
        ("Api-Key abcdefgh", "Malformed API key"),
        ("Api-Key .secret", "Malformed API key"),
    ],
)
def test_malformed_header_gets_401_saying_what_is_wrong(db, header, expected):
    assert expected in rejection(client_with(header).get(URL))


def test_suspended_tenant_gets_401(tenant):
    _, secret = make_api_key(tenant)
    type(tenant).objects.filter(pk=tenant.pk).update(is_active=False)

    assert "suspended" in rejection(client_with(f"Api-Key {secret}").get(URL))


def test_key_never_reaches_another_tenants_rows(tenant, other_tenant):
    Project.all_tenants.create(tenant=other_tenant, name="Theirs")
    _, secret = make_api_key(tenant)

    assert client_with(f"Api-Key {secret}").get(URL).json()["count"] == 0


# --- last use --------------------------------------------------------------------------------------------


def test_use_sets_last_used_at(tenant):
    api_key, secret = make_api_key(tenant)
    assert api_key.last_used_at is None

    client_with(f"Api-Key {secret}").get(URL)

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert timezone.now() - api_key.last_used_at < timedelta(seconds=30)


def test_use_within_the_resolution_does_not_rewrite_last_used_at(tenant):
    api_key, secret = make_api_key(tenant)
    recently = timezone.now() - timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S // 2)
    ApiKey.all_tenants.filter(pk=api_key.pk).update(last_used_at=recently)

    client_with(f"Api-Key {secret}").get(URL)

    api_key.refresh_from_db()
    assert api_key.last_used_at == recently


def test_use_after_the_resolution_rewrites_last_used_at(tenant):
    api_key, secret = make_api_key(tenant)
    long_ago = timezone.now() - timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S + 5)
    ApiKey.all_tenants.filter(pk=api_key.pk).update(last_used_at=long_ago)

    client_with(f"Api-Key {secret}").get(URL)

    api_key.refresh_from_db()
    assert api_key.last_used_at > long_ago + timedelta(seconds=5)


def test_rejected_key_does_not_record_use(tenant):
    api_key, secret = make_api_key(tenant)
    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)

    client_with(f"Api-Key {secret}").get(URL)

    api_key.refresh_from_db()
    assert api_key.last_used_at is None


# --- storage of the secret --------------------------------------------------------------------------------


def test_stored_key_never_contains_the_secret(tenant):
    api_key, secret = make_api_key(tenant)
    _, _, secret_part = secret.partition(".")

    row = ApiKey.all_tenants.filter(pk=api_key.pk).values().get()

    assert row["hashed_key"] != secret
    for column, value in row.items():
        assert secret_part not in str(value), column


def test_audit_event_of_a_new_key_holds_no_secret(tenant):
    _, secret = make_api_key(tenant)
    _, _, secret_part = secret.partition(".")

    for event in AuditEvent.all_tenants.filter(tenant=tenant).values():
        assert all(secret_part not in str(value) for value in event.values())


# --- audit --------------------------------------------------------------------------------------------------


def test_creating_a_key_records_api_key_created(tenant, owner):
    api_key, _ = api_key_create(tenant=tenant, name="Zendesk", scopes=["predict"], created_by=owner.user)

    event = AuditEvent.all_tenants.get(tenant=tenant, action=AuditAction.API_KEY_CREATED)
    assert event.actor == owner.user
    assert event.target_label == str(api_key)
    assert event.details["scopes"] == ["predict"]


def test_revoking_a_key_records_api_key_revoked(tenant, owner):
    api_key, _ = make_api_key(tenant)

    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=owner.user)

    api_key.refresh_from_db()
    assert api_key.revoked
    event = AuditEvent.all_tenants.get(tenant=tenant, action=AuditAction.API_KEY_REVOKED)
    assert event.actor == owner.user


def test_revoking_twice_records_one_event(tenant):
    api_key, _ = make_api_key(tenant)

    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)
    api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)

    assert AuditEvent.all_tenants.filter(tenant=tenant, action=AuditAction.API_KEY_REVOKED).count() == 1


def test_revoking_another_tenants_key_is_not_found(tenant, other_tenant):
    api_key, _ = make_api_key(other_tenant)

    with pytest.raises(NotFound):
        api_key_revoke(tenant=tenant, public_id=api_key.public_id, actor=None)

    api_key.refresh_from_db()
    assert not api_key.revoked


# --- validation of new keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scopes", [["admin"], ["predict", "superuser"], []])
def test_bad_scopes_are_refused(tenant, scopes):
    with pytest.raises(InvalidInput) as raised:
        api_key_create(tenant=tenant, name="k", scopes=scopes)

    assert raised.value.field == "scopes"
    assert not ApiKey.all_tenants.filter(tenant=tenant).exists()


def test_scopes_are_stored_deduplicated_in_a_fixed_order(tenant):
    api_key, _ = api_key_create(tenant=tenant, name="k", scopes=["manage", "predict", "manage"])

    assert api_key.scopes == ["predict", "manage"]


def test_key_for_another_tenants_project_is_not_found(tenant, other_tenant):
    theirs = Project.all_tenants.create(tenant=other_tenant, name="Theirs")

    with pytest.raises(NotFound):
        api_key_create(tenant=tenant, name="k", scopes=["predict"], project=theirs)

    assert not ApiKey.all_tenants.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 51])
def test_bad_key_name_is_refused(tenant, name):
    with pytest.raises(InvalidInput) as raised:
        api_key_create(tenant=tenant, name=name, scopes=["predict"])

    assert raised.value.field == "name"


def test_expiry_in_the_past_is_refused(tenant):
    with pytest.raises(InvalidInput) as raised:
        api_key_create(tenant=tenant, name="k", scopes=["predict"], expires_at=timezone.now() - timedelta(minutes=1))

    assert raised.value.field == "expires_at"
