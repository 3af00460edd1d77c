"""Invitations: the owner invites, the link is shown once and mailed, a new user joins through it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tenants.forms import PENDING_INVITATION_SESSION_KEY
from tenants.models import Invitation, Membership, Role, Tenant
from tenants.services import invitation_accept, invitation_create
from tests.factories import PASSWORD, UserFactory, dashboard_url

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache")

NEW_EMAIL = "grace@example.com"


def invite(client: Client, tenant: Tenant, email: str = NEW_EMAIL, role: str = Role.MEMBER) -> str:
    """Invites through the page; returns the link's path as the page shows it."""
    response = client.post(dashboard_url("member-invite", tenant), {"email": email, "role": role})
    assert response.status_code == 200
    match = re.search(r'value="(https?://[^"]+/invitations/[^"]+/)"', response.content.decode())
    assert match, response.content.decode()
    return urlparse(match.group(1)).path


def test_the_invitation_link_is_shown_on_the_page_and_mailed(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    path = invite(client, tenant)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [NEW_EMAIL]
    assert path in mail.outbox[0].body


def test_the_invitation_link_is_not_shown_again(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)
    path = invite(client, tenant)

    page = client.get(dashboard_url("member-list", tenant)).content.decode()

    assert path not in page
    assert NEW_EMAIL in page  # listed as pending


def test_anonymous_visitor_sees_the_organization_and_links_to_sign_up_or_log_in(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    _, token = invitation_create(tenant=tenant, email=NEW_EMAIL, role=Role.MEMBER, invited_by=owner)

    response = client.get(f"/invitations/{token}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert tenant.name in page
    assert f"/accounts/signup/?next=%2Finvitations%2F{token}%2F" in page
    assert f"/accounts/login/?next=%2Finvitations%2F{token}%2F" in page
    assert client.session[PENDING_INVITATION_SESSION_KEY] == token


def test_a_new_user_signs_up_through_the_link_and_joins_with_the_invited_role(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    client.force_login(owner.user)
    path = invite(client, tenant, role=Role.VIEWER)
    client.logout()
    newcomer = Client()

    newcomer.get(path)
    response = newcomer.post(
        f"/accounts/signup/?next={path}",
        {"email": NEW_EMAIL, "password1": PASSWORD, "password2": PASSWORD, "organization": "", "next": path},
    )
    assert response.status_code == 302
    confirm = urlparse(re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)).path
    landed = newcomer.post(confirm, follow=True)
    assert landed.redirect_chain[-1][0] == path
    assert "Accept invitation" in landed.content.decode()
    accepted = newcomer.post(path)

    assert accepted.status_code == 302
    assert accepted["Location"] == dashboard_url("overview", tenant)
    membership = Membership.objects.for_tenant(tenant).get(user__email=NEW_EMAIL)
    assert membership.role == Role.VIEWER
    assert list(Membership.all_tenants.filter(user=membership.user)) == [membership]  # no personal tenant
    assert PENDING_INVITATION_SESSION_KEY not in newcomer.session


def test_a_signed_in_user_accepts_and_lands_on_the_overview(client: Client, tenant: Tenant, owner: Membership) -> None:
    _, token = invitation_create(tenant=tenant, email=NEW_EMAIL, role=Role.ADMIN, invited_by=owner)
    client.force_login(UserFactory(email=NEW_EMAIL))

    response = client.post(f"/invitations/{token}/", follow=True)

    assert response.redirect_chain[-1][0] == dashboard_url("overview", tenant)
    assert Membership.objects.for_tenant(tenant).get(user__email=NEW_EMAIL).role == Role.ADMIN


def _revoked(invitation: Invitation, token: str) -> None:
    Invitation.all_tenants.filter(pk=invitation.pk).update(revoked_at=timezone.now())


def _expired(invitation: Invitation, token: str) -> None:
    Invitation.all_tenants.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def _used(invitation: Invitation, token: str) -> None:
    invitation_accept(token=token, user=UserFactory(email=invitation.email))


@pytest.mark.parametrize("spoil", [_revoked, _expired, _used], ids=["revoked", "expired", "used"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_revoked_expired_or_used_link_answers_a_friendly_404(
    client: Client,
    tenant: Tenant,
    owner: Membership,
    spoil: Callable[[Invitation, str], None],
    method: str,
) -> None:
    invitation, token = invitation_create(tenant=tenant, email=NEW_EMAIL, role=Role.MEMBER, invited_by=owner)
    spoil(invitation, token)
    user = UserFactory(email=NEW_EMAIL)
    client.force_login(user)

    response = getattr(client, method)(f"/invitations/{token}/")

    assert response.status_code == 404
    assert "This invitation link does not work" in response.content.decode()
    assert not Membership.objects.for_tenant(tenant).filter(user=user).exists()


def test_a_link_forwarded_to_someone_else_does_not_let_them_in(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    _, token = invitation_create(tenant=tenant, email=NEW_EMAIL, role=Role.ADMIN, invited_by=owner)
    stranger = UserFactory(email="stranger@example.com")
    client.force_login(stranger)

    response = client.post(f"/invitations/{token}/")

    assert response.status_code == 403
    assert f"This invitation was sent to {NEW_EMAIL}" in response.content.decode()
    assert not Membership.objects.for_tenant(tenant).filter(user=stranger).exists()


def test_an_unknown_token_answers_a_friendly_404(client: Client, db: None) -> None:
    response = client.get("/invitations/not-a-real-token/")

    assert response.status_code == 404
    assert "This invitation link does not work" in response.content.decode()


def test_revoking_from_the_members_page_kills_the_link(client: Client, tenant: Tenant, owner: Membership) -> None:
    invitation, token = invitation_create(tenant=tenant, email=NEW_EMAIL, role=Role.MEMBER, invited_by=owner)
    client.force_login(owner.user)

    client.post(dashboard_url("invitation-revoke", tenant, invitation_id=invitation.pk))

    assert client.get(f"/invitations/{token}/").status_code == 404


def test_inviting_an_existing_member_is_a_form_error(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    existing = member_of(tenant, Role.MEMBER)
    client.force_login(owner.user)

    response = client.post(dashboard_url("member-invite", tenant), {"email": existing.user.email, "role": "member"})

    assert response.status_code == 409
    assert "is already a member" in response.content.decode()
    assert not Invitation.objects.for_tenant(tenant).exists()
    assert not mail.outbox
