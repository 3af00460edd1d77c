"""Organizations: the switcher, starting a new one, the overview and the audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.models import AuditAction, Membership, Role, Tenant
from tenants.services import audit_record, invitation_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, dashboard_url, make_api_key

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache")


def test_a_user_in_two_tenants_sees_both_in_the_switcher_and_each_works(
    client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user, role=Role.VIEWER)
    MembershipFactory(tenant=other_tenant, user=user, role=Role.OWNER)
    client.force_login(user)

    for current in (tenant, other_tenant):
        response = client.get(dashboard_url("overview", current))
        switcher = response.content.decode().split('id="tenant-switcher"')[1].split("</details>")[0]

        assert response.status_code == 200
        assert f"/t/{tenant.slug}/" in switcher and f"/t/{other_tenant.slug}/" in switcher
        assert tenant.name in switcher and other_tenant.name in switcher


def test_home_opens_the_last_organization_visited(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user)
    MembershipFactory(tenant=other_tenant, user=user)
    client.force_login(user)
    client.get(dashboard_url("overview", other_tenant))

    response = client.get("/")

    assert response["Location"] == dashboard_url("overview", other_tenant)


def test_a_user_without_organization_is_asked_to_create_one(client: Client, db: None) -> None:
    client.force_login(UserFactory())

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == "/organizations/new/"
    assert "New organization" in response.content.decode()


def test_creating_an_organization_makes_the_user_its_owner_and_opens_it(client: Client, db: None) -> None:
    user = UserFactory()
    client.force_login(user)

    response = client.post("/organizations/new/", {"name": "Initech"})

    tenant = Tenant.objects.get(name="Initech")
    assert response["Location"] == dashboard_url("overview", tenant)
    assert Membership.objects.for_tenant(tenant).get().user == user
    assert Membership.objects.for_tenant(tenant).get().role == Role.OWNER


def test_an_organization_needs_a_name(client: Client, db: None) -> None:
    client.force_login(UserFactory())

    response = client.post("/organizations/new/", {"name": "   "})

    assert response.status_code == 400
    assert not Tenant.objects.exists()


def test_the_overview_counts_projects_and_members(
    client: Client, tenant: Tenant, owner: Membership, member_of: Callable[..., Membership]
) -> None:
    member_of(tenant, Role.VIEWER)
    ProjectFactory(tenant=tenant, name="Intents")
    client.force_login(owner.user)

    response = client.get(dashboard_url("overview", tenant))

    assert (response.context["project_count"], response.context["member_count"]) == (1, 2)
    assert "Intents" in response.content.decode()


def test_an_empty_overview_invites_creating_the_first_project(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    client.force_login(owner.user)

    page = client.get(dashboard_url("overview", tenant)).content.decode()

    assert "No projects yet" in page and "create your first project" in page


def test_navigation_shows_keys_and_audit_log_only_to_those_who_may_open_them(
    client: Client, tenant: Tenant, member_of: Callable[..., Membership]
) -> None:
    seen = {}
    for role in (Role.MEMBER, Role.ADMIN, Role.OWNER):
        client.force_login(member_of(tenant, role).user)
        page = client.get(dashboard_url("overview", tenant)).content.decode()
        seen[role] = (dashboard_url("api-key-list", tenant) in page, dashboard_url("audit-log", tenant) in page)

    assert seen == {Role.MEMBER: (False, False), Role.ADMIN: (True, False), Role.OWNER: (True, True)}


def test_the_audit_log_is_paginated_by_50(client: Client, tenant: Tenant, owner: Membership) -> None:
    for n in range(60):
        audit_record(tenant=tenant, action=AuditAction.MEMBER_INVITED, actor=owner.user, target_label=f"p{n}@x.io")
    client.force_login(owner.user)

    first = client.get(dashboard_url("audit-log", tenant))
    second = client.get(dashboard_url("audit-log", tenant) + "?page=2")

    assert len(first.context["events"]) == 50
    assert len(second.context["events"]) == 10
    assert "member.invited" in first.content.decode()


def test_the_audit_log_shows_time_actor_action_target_and_ip(client: Client, tenant: Tenant, owner: Membership) -> None:
    audit_record(
        tenant=tenant,
        action=AuditAction.API_KEY_REVOKED,
        actor=owner.user,
        target_label="Zendesk bot (abc123)",
        ip_address="203.0.113.9",
    )
    client.force_login(owner.user)

    page = client.get(dashboard_url("audit-log", tenant)).content.decode()

    for text in (owner.user.email, "api_key.revoked", "Zendesk bot (abc123)", "203.0.113.9"):
        assert text in page


def test_the_audit_log_of_another_tenant_is_not_shown(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership
) -> None:
    audit_record(tenant=other_tenant, action=AuditAction.TENANT_CREATED, target_label="Globex secret")
    client.force_login(owner.user)

    page = client.get(dashboard_url("audit-log", tenant)).content.decode()

    assert "Globex secret" not in page


def _queries_per_page(client: Client, tenant: Tenant) -> dict[str, int]:
    counts = {}
    for name in ("overview", "project-list", "member-list", "api-key-list", "audit-log"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(dashboard_url(name, tenant)).status_code == 200
        counts[name] = len(queries)
    return counts


def test_the_list_pages_make_as_many_queries_for_many_rows_as_for_one(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    def add_rows(n: int) -> None:
        for _ in range(n):
            ProjectFactory(tenant=tenant)
            member = MembershipFactory(tenant=tenant)
            invitation_create(tenant=tenant, email=f"x{member.pk}@example.com", role=Role.MEMBER, invited_by=owner)
            make_api_key(tenant, created_by=owner.user, project=ProjectFactory(tenant=tenant))

    client.force_login(owner.user)
    add_rows(1)
    client.get(dashboard_url("overview", tenant))  # the session's first write is not the page's doing
    few = _queries_per_page(client, tenant)
    add_rows(5)

    assert _queries_per_page(client, tenant) == few
