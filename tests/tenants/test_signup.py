"""From the sign-up form to the new organization's dashboard, and the account pages around it."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tenants.models import AuditEvent, Membership, Role, Tenant
from tests.factories import PASSWORD

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache")]

EMAIL = "ada@example.com"


def confirmation_path(body: str) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+", body)
    assert match, body
    return urlparse(match.group(0)).path


def sign_up(client: Client, organization: str = "Analytical Engines", path: str = "/accounts/signup/") -> Client:
    response = client.post(
        path, {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD, "organization": organization}
    )
    assert response.status_code == 302, response.content.decode()
    return client


def confirm(client: Client) -> list[tuple[str, int]]:
    path = confirmation_path(mail.outbox[-1].body)
    assert client.get(path).status_code == 200
    return client.post(path, follow=True).redirect_chain


def test_sign_up_sends_an_email_verification_mail(client: Client) -> None:
    sign_up(client)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAIL]
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_confirming_the_email_lands_signed_in_on_the_new_organizations_overview(client: Client) -> None:
    sign_up(client)

    chain = confirm(client)

    tenant = Tenant.objects.get(name="Analytical Engines")
    assert chain[-1][0] == f"/t/{tenant.slug}/"
    page = client.get(chain[-1][0])
    assert page.status_code == 200
    assert "Analytical Engines" in page.content.decode()
    assert page.wsgi_request.user.email == EMAIL


def test_the_new_user_owns_the_new_organization_and_the_sign_up_is_audited(client: Client) -> None:
    sign_up(client)
    confirm(client)

    tenant = Tenant.objects.get(name="Analytical Engines")
    membership = Membership.objects.for_tenant(tenant).get()
    assert (membership.user.email, membership.role) == (EMAIL, Role.OWNER)
    assert AuditEvent.objects.for_tenant(tenant).filter(action="user.signed_up", actor=membership.user).exists()


def test_the_sign_up_page_asks_for_the_organization(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()

    assert 'name="organization"' in page
    assert "pico.min.css" in page


def test_logging_out_and_in_again_returns_to_the_organization(client: Client) -> None:
    sign_up(client)
    confirm(client)
    tenant = Tenant.objects.get(name="Analytical Engines")

    client.post("/accounts/logout/")
    assert client.get(f"/t/{tenant.slug}/").status_code == 302
    response = client.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == f"/t/{tenant.slug}/"
    assert response.status_code == 200


def test_password_reset_sends_a_mail(client: Client) -> None:
    sign_up(client)
    confirm(client)
    client.post("/accounts/logout/")
    mail.outbox.clear()

    response = client.post("/accounts/password/reset/", {"email": EMAIL})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAIL]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_right_after_signing_up_a_key_is_created_without_asking_for_the_password_again(client: Client) -> None:
    from tenants.models import ApiKey, Tenant

    sign_up(client)
    confirm(client)
    tenant = Tenant.objects.get(name="Analytical Engines")

    response = client.post(f"/t/{tenant.slug}/api-keys/new/", {"name": "first", "scopes": ["predict"]})

    assert "/accounts/reauthenticate/" not in response.get("Location", "")
    assert ApiKey.objects.for_tenant(tenant).filter(name="first").exists()


def test_the_confirmation_mail_speaks_as_tunebase_to_the_address_not_the_host_or_username(client: Client) -> None:
    client.defaults["HTTP_HOST"] = "127.0.0.1:8100"  # as `make run` on another port serves it
    sign_up(client)

    message = mail.outbox[-1]
    user = get_user_model().objects.get(email=EMAIL)
    body_without_address = message.body.replace(EMAIL, "<address>")
    assert message.subject.startswith("[Tunebase] ")
    assert "Hello from" not in message.body and "127.0.0.1:8100]" not in message.subject
    assert f"Hello {EMAIL}," in message.body and "Tunebase" in body_without_address
    # The only mention of the host is the confirmation link itself; the username appears nowhere.
    assert body_without_address.count("127.0.0.1:8100") == 1
    assert confirmation_path(message.body).startswith("/accounts/confirm-email/")
    assert not re.search(rf"\b{re.escape(user.username)}\b", body_without_address), message.body
