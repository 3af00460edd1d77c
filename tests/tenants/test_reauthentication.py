"""Sudo mode: creating API keys, granting roles, changing webhooks and deleting need a recent sign-in; after
``ACCOUNT_REAUTHENTICATION_TIMEOUT`` the password is asked again before the action happens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from tenants.models import ApiKey, Invitation, Membership, Role, Tenant
from tests.factories import PASSWORD, ProjectFactory, dashboard_url
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache", "_settings")]


@pytest.fixture
def _settings(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_HTTP = settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 300


@dataclass
class Action:
    """One sensitive action: its page, its form, and whether it has happened."""

    url: str
    data: dict[str, Any]
    done: Callable[[], bool]


def endpoint_of(tenant: Tenant) -> WebhookEndpoint:
    return endpoint_create(tenant=tenant, url="http://127.0.0.1:9/hook", events=["model.deployed"])


def api_key_create(tenant: Tenant, member_of: Any) -> Action:
    data = {"name": "Zendesk bot", "scopes": ["predict"]}
    return Action(dashboard_url("api-key-create", tenant), data, ApiKey.objects.for_tenant(tenant).exists)


def role_change(tenant: Tenant, member_of: Any) -> Action:
    member = member_of(tenant, Role.VIEWER)
    url = dashboard_url("member-role", tenant, membership_id=member.pk)
    return Action(
        url, {"role": "admin"}, lambda: Membership.objects.for_tenant(tenant).get(pk=member.pk).role == "admin"
    )


def invitation_create(tenant: Tenant, member_of: Any) -> Action:
    data = {"email": "new@example.com", "role": "admin"}
    return Action(dashboard_url("member-invite", tenant), data, Invitation.objects.for_tenant(tenant).exists)


def webhook_create(tenant: Tenant, member_of: Any) -> Action:
    data = {"url": "http://127.0.0.1:9/hook", "events": ["model.deployed"]}
    return Action(dashboard_url("webhook-list", tenant), data, WebhookEndpoint.objects.for_tenant(tenant).exists)


def webhook_action(action: str, done: Callable[[WebhookEndpoint], bool]) -> Callable[[Tenant, Any], Action]:
    def make(tenant: Tenant, member_of: Any) -> Action:
        endpoint = endpoint_of(tenant)
        url = dashboard_url("webhook-detail", tenant, endpoint_id=endpoint.pk)
        return Action(url, {"action": action}, lambda: done(endpoint))

    return make


def _current(endpoint: WebhookEndpoint) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.for_tenant(endpoint.tenant).filter(pk=endpoint.pk).first()


def project_delete(tenant: Tenant, member_of: Any) -> Action:
    project = ProjectFactory(tenant=tenant, name="Old")
    url = dashboard_url("project-delete", tenant, project_id=project.pk)
    return Action(url, {}, lambda: not Project.objects.for_tenant(tenant).filter(pk=project.pk).exists())


def tenant_delete(tenant: Tenant, member_of: Any) -> Action:
    data = {"confirm": tenant.name}
    return Action(
        dashboard_url("tenant-delete", tenant), data, lambda: not Tenant.objects.filter(pk=tenant.pk).exists()
    )


ACTIONS = {
    "api-key-create": api_key_create,
    "role-change": role_change,
    "invitation-create": invitation_create,
    "webhook-create": webhook_create,
    "webhook-rotate": webhook_action("rotate", lambda e: _current(e).secret != e.secret),  # type: ignore[union-attr]
    "webhook-disable": webhook_action("disable", lambda e: not _current(e).is_active),  # type: ignore[union-attr]
    "webhook-delete": webhook_action("delete", lambda e: _current(e) is None),
    "project-delete": project_delete,
    "tenant-delete": tenant_delete,
}


@pytest.fixture(params=list(ACTIONS))
def action(request, tenant, member_of) -> Action:
    return ACTIONS[request.param](tenant, member_of)


def test_a_session_past_the_timeout_is_asked_for_the_password_first(client, tenant, owner, action):
    signed_in_at = timezone.now()
    with time_machine.travel(signed_in_at, tick=False):
        client.force_login(owner.user)

    with time_machine.travel(signed_in_at + timedelta(minutes=6), tick=False):
        response = client.post(action.url, action.data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not action.done()


def test_right_after_signing_in_the_action_proceeds(client, tenant, owner, action):
    client.force_login(owner.user)

    response = client.post(action.url, action.data)

    assert not response.get("Location", "").startswith(reverse("account_reauthenticate"))
    assert action.done()


def test_after_the_password_the_suspended_action_is_carried_out(client, tenant, owner):
    action = project_delete(tenant, None)
    signed_in_at = timezone.now()
    with time_machine.travel(signed_in_at, tick=False):
        client.force_login(owner.user)

    with time_machine.travel(signed_in_at + timedelta(hours=2), tick=False):
        asked = client.post(action.url, action.data)
        wrong = client.post(asked["Location"], {"password": "not-the-password-1"})
        assert wrong.status_code == 200 and not action.done()
        client.post(asked["Location"], {"password": PASSWORD})

    assert action.done()


def test_a_test_event_needs_no_password(client, tenant, owner, django_capture_on_commit_callbacks):
    endpoint = endpoint_of(tenant)
    signed_in_at = timezone.now()
    with time_machine.travel(signed_in_at, tick=False):
        client.force_login(owner.user)

    with time_machine.travel(signed_in_at + timedelta(hours=2), tick=False):
        response = client.post(dashboard_url("webhook-detail", tenant, endpoint_id=endpoint.pk), {"action": "test"})

    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("account_reauthenticate"))
