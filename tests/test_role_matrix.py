"""Every dashboard page and action against every kind of visitor: anonymous, another tenant's user,
each role. Too low a role is 403 and changes nothing; enough is success with its visible effect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from projects.models import Project
from tenants.models import ROLE_RANK, ApiKey, AuditEvent, Invitation, Membership, Role, Tenant
from tenants.services import invitation_create
from tests.factories import MembershipFactory, ProjectFactory, dashboard_url, make_api_key

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache", "plans")


@dataclass
class World:
    """What the pages act on, all inside the tenant under test."""

    tenant: Tenant
    project: Project
    target: Membership
    invitation: Invitation
    api_key: ApiKey


def make_world(tenant: Tenant) -> World:
    founder = MembershipFactory(tenant=tenant, role=Role.OWNER)
    invitation, _ = invitation_create(tenant=tenant, email="invited@example.com", role=Role.MEMBER, invited_by=founder)
    api_key, _ = make_api_key(tenant, name="existing key")
    return World(
        tenant=tenant,
        project=ProjectFactory(tenant=tenant, name="Intents"),
        target=MembershipFactory(tenant=tenant, role=Role.MEMBER),
        invitation=invitation,
        api_key=api_key,
    )


def audited(w: World, action: str) -> bool:
    return AuditEvent.objects.for_tenant(w.tenant).filter(action=action).exists()


@dataclass
class Endpoint:
    name: str
    minimum: Role
    method: str = "get"
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    data: dict[str, Any] = field(default_factory=dict)
    happened: Callable[[World], bool] | None = None  # the visible effect of a successful POST

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"


PROJECT = {"name": "Renamed", "use_case": "customer_service", "confidence_threshold": "0.7"}


def _project(w: World) -> dict[str, Any]:
    return {"project_id": w.project.pk}


ENDPOINTS = [
    Endpoint("overview", Role.VIEWER),
    Endpoint("project-list", Role.VIEWER),
    Endpoint("project-detail", Role.VIEWER, kwargs=_project),
    Endpoint("project-edit", Role.MEMBER, kwargs=_project),
    Endpoint("project-delete", Role.MEMBER, kwargs=_project),
    Endpoint("member-list", Role.VIEWER),
    Endpoint("api-key-list", Role.ADMIN),
    Endpoint("api-key-create", Role.ADMIN),
    Endpoint("audit-log", Role.OWNER),
    Endpoint("billing", Role.ADMIN),
    Endpoint("tenant-export", Role.OWNER),
    Endpoint("tenant-delete", Role.OWNER),
    Endpoint(
        "billing-spend-cap",
        Role.ADMIN,
        "post",
        data={"spend_cap": "500"},
        happened=lambda w: audited(w, "billing.spend_cap_changed"),
    ),
    Endpoint(
        "project-list",
        Role.MEMBER,
        "post",
        data={**PROJECT, "name": "Recommendations"},
        happened=lambda w: Project.objects.for_tenant(w.tenant).filter(name="Recommendations").exists(),
    ),
    Endpoint(
        "project-edit",
        Role.MEMBER,
        "post",
        kwargs=_project,
        data=PROJECT,
        happened=lambda w: Project.objects.for_tenant(w.tenant).get(pk=w.project.pk).name == "Renamed",
    ),
    Endpoint(
        "project-delete",
        Role.MEMBER,
        "post",
        kwargs=_project,
        happened=lambda w: not Project.objects.for_tenant(w.tenant).filter(pk=w.project.pk).exists(),
    ),
    Endpoint(
        "member-invite",
        Role.ADMIN,
        "post",
        data={"email": "new@example.com", "role": "viewer"},
        happened=lambda w: (
            Invitation.objects.for_tenant(w.tenant).filter(email="new@example.com").exists()
            and audited(w, "member.invited")
        ),
    ),
    Endpoint(
        "member-role",
        Role.ADMIN,
        "post",
        kwargs=lambda w: {"membership_id": w.target.pk},
        data={"role": "viewer"},
        happened=lambda w: (
            Membership.objects.for_tenant(w.tenant).get(pk=w.target.pk).role == Role.VIEWER
            and audited(w, "member.role_changed")
        ),
    ),
    Endpoint(
        "member-remove",
        Role.ADMIN,
        "post",
        kwargs=lambda w: {"membership_id": w.target.pk},
        happened=lambda w: (
            not Membership.objects.for_tenant(w.tenant).filter(pk=w.target.pk).exists() and audited(w, "member.removed")
        ),
    ),
    Endpoint(
        "invitation-revoke",
        Role.ADMIN,
        "post",
        kwargs=lambda w: {"invitation_id": w.invitation.pk},
        happened=lambda w: (
            Invitation.objects.for_tenant(w.tenant).get(pk=w.invitation.pk).revoked_at is not None
            and audited(w, "invitation.revoked")
        ),
    ),
    Endpoint(
        "api-key-create",
        Role.ADMIN,
        "post",
        data={"name": "Zendesk bot", "scopes": ["predict"]},
        happened=lambda w: (
            ApiKey.objects.for_tenant(w.tenant).filter(name="Zendesk bot").exists() and audited(w, "api_key.created")
        ),
    ),
    Endpoint(
        "api-key-revoke",
        Role.ADMIN,
        "post",
        kwargs=lambda w: {"public_id": w.api_key.public_id},
        happened=lambda w: (
            ApiKey.objects.for_tenant(w.tenant).get(pk=w.api_key.pk).revoked and audited(w, "api_key.revoked")
        ),
    ),
]


def call(client: Client, endpoint: Endpoint, w: World) -> Any:
    url = dashboard_url(endpoint.name, w.tenant, **endpoint.kwargs(w))
    return getattr(client, endpoint.method)(url, endpoint.data)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_anonymous_visitor_is_sent_to_log_in(client: Client, tenant: Tenant, endpoint: Endpoint) -> None:
    w = make_world(tenant)

    response = call(client, endpoint, w)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert endpoint.happened is None or not endpoint.happened(w)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_owner_of_another_tenant_gets_404(
    client: Client, tenant: Tenant, other_tenant: Tenant, member_of: Callable[..., Membership], endpoint: Endpoint
) -> None:
    w = make_world(tenant)
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    response = call(client, endpoint, w)

    assert response.status_code == 404
    assert endpoint.happened is None or not endpoint.happened(w)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_role_gets_403_below_the_minimum_and_the_effect_from_it_up(
    client: Client, tenant: Tenant, member_of: Callable[..., Membership], endpoint: Endpoint, role: Role
) -> None:
    w = make_world(tenant)
    client.force_login(member_of(tenant, role).user)
    allowed = ROLE_RANK[role] >= ROLE_RANK[endpoint.minimum]

    response = call(client, endpoint, w)

    if not allowed:
        assert response.status_code == 403
        assert endpoint.happened is None or not endpoint.happened(w)
    elif endpoint.method == "get":
        assert response.status_code == 200
        assert tenant.name in response.content.decode()
    else:
        assert response.status_code in (200, 302)
        assert endpoint.happened is not None and endpoint.happened(w)


def test_new_organization_page_sends_anonymous_visitors_to_log_in(client: Client, db: None) -> None:
    response = client.get("/organizations/new/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
