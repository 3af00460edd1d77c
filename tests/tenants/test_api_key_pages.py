"""API keys made on the dashboard: shown once, working against the API, dead once revoked."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import Project
from tenants.models import ApiKey, Membership, Tenant
from tests.factories import ProjectFactory, dashboard_url, make_api_key

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache")


def create_key(client: Client, tenant: Tenant, **fields: object) -> tuple[str, str]:
    """Creates a key through the page; returns the secret and the page it was shown on."""
    data = {"name": "Zendesk bot", "scopes": ["predict", "manage"], **fields}
    response = client.post(dashboard_url("api-key-create", tenant), data)
    assert response.status_code == 200, response.content.decode()
    page = response.content.decode()
    match = re.search(r'value="([^"]+)" id="api-key-secret"', page)
    assert match, page
    return match.group(1), page


def api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_the_created_key_is_shown_once_with_a_curl_example(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    secret, page = create_key(client, tenant)

    assert f'curl -H "Authorization: Api-Key {secret}" http://testserver/api/v1/projects/' in page
    assert secret not in client.get(dashboard_url("api-key-list", tenant)).content.decode()


def test_a_key_created_on_the_dashboard_works_against_the_api(
    client: Client, tenant: Tenant, owner: Membership, project: Project
) -> None:
    client.force_login(owner.user)
    secret, _ = create_key(client, tenant)

    response = api(secret).get("/api/v1/projects/")

    assert response.status_code == 200
    assert project.name in response.content.decode()


def test_a_revoked_key_answers_401(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)
    secret, _ = create_key(client, tenant)
    key = ApiKey.objects.for_tenant(tenant).get(name="Zendesk bot")

    client.post(dashboard_url("api-key-revoke", tenant, public_id=key.public_id))

    assert api(secret).get("/api/v1/projects/").status_code == 401
    page = client.get(dashboard_url("api-key-list", tenant)).content.decode()
    assert "revoked" in page


def test_a_key_can_be_limited_to_one_project_and_given_an_expiry(
    client: Client, tenant: Tenant, owner: Membership, project: Project
) -> None:
    client.force_login(owner.user)

    create_key(client, tenant, project=str(project.pk), expires_at="2099-01-31", scopes=["predict"])

    key = ApiKey.objects.for_tenant(tenant).get(name="Zendesk bot")
    assert key.project_id == project.pk
    assert key.scopes == ["predict"]
    assert key.expiry_date is not None and key.expiry_date.date().isoformat() == "2099-02-01"


def test_the_project_choice_offers_only_this_tenants_projects(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership, project: Project
) -> None:
    theirs = ProjectFactory(tenant=other_tenant, name="Their secret project")
    client.force_login(owner.user)

    page = client.get(dashboard_url("api-key-create", tenant)).content.decode()
    response = client.post(
        dashboard_url("api-key-create", tenant), {"name": "sneaky", "scopes": ["predict"], "project": str(theirs.pk)}
    )

    assert project.name in page and theirs.name not in page
    assert response.status_code == 400
    assert not ApiKey.objects.for_tenant(tenant).filter(name="sneaky").exists()


def test_a_past_expiry_date_is_a_form_error(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    response = client.post(
        dashboard_url("api-key-create", tenant), {"name": "old", "scopes": ["predict"], "expires_at": "2000-01-01"}
    )

    assert response.status_code == 400
    assert "must be in the future" in response.content.decode()
    assert not ApiKey.objects.for_tenant(tenant).exists()


def test_revoking_another_tenants_key_answers_404(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership
) -> None:
    theirs, _ = make_api_key(other_tenant)
    client.force_login(owner.user)

    response = client.post(dashboard_url("api-key-revoke", tenant, public_id=theirs.public_id))

    assert response.status_code == 404
    assert not ApiKey.objects.for_tenant(other_tenant).get(pk=theirs.pk).revoked


def test_the_empty_list_invites_creating_a_key(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    page = client.get(dashboard_url("api-key-list", tenant)).content.decode()

    assert "No API keys yet" in page
