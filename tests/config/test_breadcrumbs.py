"""Every dashboard page's breadcrumbs come from its view (tenants.dashboard.TenantView) and base.html: one
trail, the organization first, each step above the page a link, the page itself last and unlinked."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tenants.models import Membership, Tenant
from tests.factories import ProjectFactory
from webhooks.services import endpoint_create

pytestmark = pytest.mark.usefixtures("own_cache")


def trails(client: Client, path: str) -> list[list[tuple[str, str | None]]]:
    """Each breadcrumb trail on the page: (label, link or None) per step."""
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    found = []
    for nav in re.findall(r'<nav aria-label="breadcrumb".*?</nav>', html, re.S):
        steps = []
        for item in re.findall(r"<li>(.*?)</li>", nav, re.S):
            link = re.search(r'<a href="([^"]+)">(.*?)</a>', item, re.S)
            label = re.sub(r"<[^>]+>", "", item).strip()
            steps.append((label, link.group(1) if link else None))
        found.append(steps)
    return found


def test_a_new_api_key_page_says_organization_api_keys_new(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)
    slug = tenant.slug

    assert trails(client, f"/t/{slug}/api-keys/new/") == [
        [("Acme Support", f"/t/{slug}/"), ("API keys", f"/t/{slug}/api-keys/"), ("New", None)]
    ]


def test_a_webhook_endpoints_page_ends_with_its_url(client: Client, tenant: Tenant, owner: Membership) -> None:
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True):
        endpoint = endpoint_create(tenant=tenant, url="http://127.0.0.1:9/hook", events=["model.deployed"])
    client.force_login(owner.user)
    path = reverse("dashboard:webhook-detail", kwargs={"tenant_slug": tenant.slug, "endpoint_id": endpoint.pk})

    assert trails(client, path) == [
        [
            ("Acme Support", f"/t/{tenant.slug}/"),
            ("Webhooks", f"/t/{tenant.slug}/webhooks/"),
            ("http://127.0.0.1:9/hook", None),
        ]
    ]


def test_a_projects_page_leads_back_through_projects_and_a_section_page_has_none(
    client: Client, tenant: Tenant, owner: Membership
) -> None:
    project = ProjectFactory(tenant=tenant, name="Routing")
    client.force_login(owner.user)
    slug = tenant.slug

    trail = trails(client, f"/t/{slug}/projects/{project.pk}/")[0]
    assert trail == [("Acme Support", f"/t/{slug}/"), ("Projects", f"/t/{slug}/projects/"), ("Routing", None)]
    # The pages the navigation leads to directly need no trail.
    assert trails(client, f"/t/{slug}/members/") == []
    assert trails(client, f"/t/{slug}/projects/") == []
