"""Signing in: wrong passwords lock the login for a while, on the customers' form and the operators'; a second
factor is offered to everyone and required to open the admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.config.test_security_headers import assert_runs_under_its_policy
from tests.conftest import give_authenticator, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache")]

TOO_MANY = "Too many failed login attempts"
ADMIN = "/admin/"


def verified(user: Any) -> Any:
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(client: Client, login_page: str, user: Any, password: str) -> Any:
    """Fills in the login form that ``login_page`` shows (following its redirects), as a person would."""
    page = client.get(login_page, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else login_page
    fields = {"username": user.username, "login": user.email, "password": password}
    return client.post(form_url, fields, follow=True)


def opens_admin(client: Client) -> bool:
    return client.get(ADMIN).status_code == 200


@pytest.mark.parametrize("login_page", ["/admin/login/?next=/admin/", "/accounts/login/"])
def test_wrong_passwords_lock_the_login_until_it_expires(client, login_page):
    user = verified(UserFactory(is_staff=True, is_superuser=True))
    give_authenticator(user)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        for _ in range(6):
            refused = sign_in(client, login_page, user, "not-the-password-1")
            assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
        locked = sign_in(client, login_page, user, PASSWORD)

        assert TOO_MANY in locked.content.decode()
        assert not locked.wsgi_request.user.is_authenticated
        assert not opens_admin(client)

    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        second_step = sign_in(client, login_page, user, PASSWORD)
        assert second_step.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))
        client.post(reverse("mfa_authenticate"), {"code": totp_code(user)})

        assert opens_admin(client)


def test_the_lock_is_per_address_too(client):
    victim = verified(UserFactory())
    for n in range(10):
        sign_in(client, "/accounts/login/", UserFactory(username=f"guess{n}"), "not-the-password-1")

    response = sign_in(client, "/accounts/login/", victim, PASSWORD)

    assert TOO_MANY in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_the_admin_serves_no_password_form_of_its_own(client):
    user = verified(UserFactory(is_staff=True, is_superuser=True))

    posted = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})

    assert posted.status_code == 302 and posted["Location"].startswith(reverse("account_login"))
    assert not client.get(ADMIN, follow=True).wsgi_request.user.is_authenticated


# --- the second factor -----------------------------------------------------------------------------------


def test_an_operator_without_a_second_factor_is_sent_to_set_one_up(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for page in (ADMIN, reverse("admin:tenants_tenant_changelist")):
        response = client.get(page, follow=True)
        assert response.redirect_chain[0][0].startswith(reverse("mfa_activate_totp"))
        assert any("two-factor authentication" in str(m) for m in response.context["messages"])


def test_an_operator_signs_in_with_password_and_code(client):
    user = verified(UserFactory(is_staff=True, is_superuser=True))
    give_authenticator(user)

    after_password = sign_in(client, "/admin/login/?next=/admin/", user, PASSWORD)
    assert after_password.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))
    assert not opens_admin(client), "the password alone does not open the admin"
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and not opens_admin(client)

    done = client.post(reverse("mfa_authenticate"), {"code": totp_code(user)})

    assert done.status_code == 302
    assert opens_admin(client)


def test_an_operator_who_set_up_a_factor_after_signing_in_enters_a_code_first(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    give_authenticator(user)

    asked = client.get(ADMIN)
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("mfa_reauthenticate"))

    client.post(asked["Location"], {"code": totp_code(user)})

    assert opens_admin(client)


def test_a_customer_turns_on_an_authenticator_app_from_the_dashboard(client, owner):
    user = verified(owner.user)
    client.force_login(user)

    dashboard = client.get(reverse("dashboard:overview", kwargs={"tenant_slug": owner.tenant.slug}))
    assert reverse("mfa_index") in dashboard.content.decode()
    confirm = client.get(reverse("mfa_activate_totp"), follow=True)  # allauth asks for the password first
    client.post(confirm.redirect_chain[-1][0], {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml;base64,', page.content.decode()), "the QR code"
    assert_runs_under_its_policy(page)
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.content.decode())
    assert secret, page.content.decode()

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    code = format_hotp_value(hotp_value(secret.group(1), next(yield_hotp_counters_from_time())))
    client.post(reverse("mfa_activate_totp"), {"code": code})

    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    client.post(reverse("account_logout"))
    after_password = sign_in(client, "/accounts/login/", user, PASSWORD)
    assert after_password.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))


@pytest.mark.parametrize(
    "page", ["mfa_index", "mfa_reauthenticate", "account_reauthenticate", "mfa_view_recovery_codes"]
)
def test_the_two_factor_pages_run_under_the_policy(client, owner, page):
    user = verified(owner.user)
    give_authenticator(user)
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.get(reverse(page))

    assert response.status_code == 200, response
    assert_runs_under_its_policy(response)
