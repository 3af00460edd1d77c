"""Members: roles change and people leave, but an organization always keeps an owner, and only
owners make owners."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tenants.models import AuditEvent, Invitation, Membership, Role, Tenant
from tests.factories import dashboard_url

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache")


def role_of(tenant: Tenant, membership: Membership) -> str:
    return str(Membership.objects.for_tenant(tenant).get(pk=membership.pk).role)


def test_members_are_listed_with_role_and_joined_date(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    viewer = member_of(tenant, Role.VIEWER)
    client.force_login(viewer.user)

    page = client.get(dashboard_url("member-list", tenant)).content.decode()

    assert owner.user.email in page and viewer.user.email in page
    assert "Owner" in page and "Viewer" in page
    assert owner.created_at.strftime("%Y-%m-%d") in page
    assert "Change role" not in page  # a viewer sees, but has no controls


def test_the_last_owner_cannot_be_demoted(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    response = client.post(dashboard_url("member-role", tenant, membership_id=owner.pk), {"role": "admin"}, follow=True)

    assert "at least one owner" in response.content.decode()
    assert role_of(tenant, owner) == Role.OWNER
    assert not AuditEvent.objects.for_tenant(tenant).filter(action="member.role_changed").exists()


def test_the_last_owner_cannot_be_removed(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    response = client.post(dashboard_url("member-remove", tenant, membership_id=owner.pk), follow=True)

    assert "last owner cannot be removed" in response.content.decode()
    assert Membership.objects.for_tenant(tenant).filter(pk=owner.pk).exists()


def test_an_owner_can_step_down_once_there_is_another_owner(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    member_of(tenant, Role.OWNER)
    client.force_login(owner.user)

    client.post(dashboard_url("member-role", tenant, membership_id=owner.pk), {"role": "admin"})

    assert role_of(tenant, owner) == Role.ADMIN


def test_an_admin_cannot_make_someone_owner(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    admin, member = member_of(tenant, Role.ADMIN), member_of(tenant, Role.MEMBER)
    client.force_login(admin.user)

    response = client.post(
        dashboard_url("member-role", tenant, membership_id=member.pk), {"role": "owner"}, follow=True
    )

    assert "Only an owner can make someone an owner" in response.content.decode()
    assert role_of(tenant, member) == Role.MEMBER


def test_an_admin_cannot_demote_or_remove_an_owner(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    client.force_login(member_of(tenant, Role.ADMIN).user)

    client.post(dashboard_url("member-role", tenant, membership_id=owner.pk), {"role": "viewer"})
    client.post(dashboard_url("member-remove", tenant, membership_id=owner.pk))

    assert role_of(tenant, owner) == Role.OWNER


def test_an_admin_cannot_invite_an_owner(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    client.force_login(member_of(tenant, Role.ADMIN).user)

    response = client.post(dashboard_url("member-invite", tenant), {"email": "boss@example.com", "role": "owner"})

    assert response.status_code == 403
    assert "Only an owner can make someone an owner" in response.content.decode()
    assert not Invitation.objects.for_tenant(tenant).exists()


def test_an_admin_is_not_offered_the_owner_role(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    member_of(tenant, Role.MEMBER)
    client.force_login(member_of(tenant, Role.ADMIN).user)

    page = client.get(dashboard_url("member-list", tenant)).content.decode()

    assert "Change role" in page
    assert 'value="owner"' not in page


def test_an_unknown_role_is_refused_with_a_message(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    member = member_of(tenant, Role.MEMBER)
    client.force_login(owner.user)

    response = client.post(dashboard_url("member-role", tenant, membership_id=member.pk), {"role": "king"}, follow=True)

    assert response.status_code == 200
    assert "Choose one of the roles" in response.content.decode()
    assert role_of(tenant, member) == Role.MEMBER


def test_changing_a_member_of_another_tenant_answers_404(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    theirs = member_of(other_tenant, Role.MEMBER)
    client.force_login(owner.user)

    response = client.post(dashboard_url("member-role", tenant, membership_id=theirs.pk), {"role": "viewer"})

    assert response.status_code == 404
    assert role_of(other_tenant, theirs) == Role.MEMBER
