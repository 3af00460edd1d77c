"""Project pages: create, read, edit, delete; names unique per organization, shown as a form error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from projects.models import Project
from tenants.models import Membership, Role, Tenant
from tests.factories import ProjectFactory, dashboard_url

# allauth keeps its rate limits (sign-ups, confirmation mails) in the cache: a fresh one per test.
pytestmark = pytest.mark.usefixtures("own_cache")

NEW = {
    "name": "Intents",
    "description": "Support tickets",
    "use_case": "recommendation",
    "multi_label": "on",
    "confidence_threshold": "0.65",
}


def test_creating_a_project_stores_its_settings_and_opens_it(
    client: Client, tenant: Tenant, member_of: Callable[..., Membership]
) -> None:
    member = member_of(tenant, Role.MEMBER)
    client.force_login(member.user)

    response = client.post(dashboard_url("project-list", tenant), NEW, follow=True)

    project = Project.objects.for_tenant(tenant).get()
    assert response.redirect_chain[-1][0] == dashboard_url("project-detail", tenant, project_id=project.pk)
    assert (project.use_case, project.multi_label, project.confidence_threshold) == ("recommendation", True, 0.65)
    assert project.created_by == member.user
    assert "Recommendation interests" in response.content.decode()


def test_a_duplicate_name_is_a_form_error_on_the_name(client: Client, tenant: Tenant, owner: Membership) -> None:
    ProjectFactory(tenant=tenant, name="intents")
    client.force_login(owner.user)

    response = client.post(dashboard_url("project-list", tenant), NEW)

    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["name"])
    assert Project.objects.for_tenant(tenant).count() == 1


def test_the_same_name_is_fine_in_another_organization(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership
) -> None:
    ProjectFactory(tenant=other_tenant, name="Intents")
    client.force_login(owner.user)

    client.post(dashboard_url("project-list", tenant), NEW)

    assert Project.objects.for_tenant(tenant).filter(name="Intents").exists()


def test_a_threshold_above_one_is_a_form_error(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    response = client.post(dashboard_url("project-list", tenant), {**NEW, "confidence_threshold": "1.5"})

    assert response.status_code == 400
    assert "confidence_threshold" in response.context["form"].errors
    assert not Project.objects.for_tenant(tenant).exists()


def test_renaming_onto_an_existing_name_is_a_form_error(client: Client, tenant: Tenant, owner: Membership) -> None:
    ProjectFactory(tenant=tenant, name="Taken")
    project = ProjectFactory(tenant=tenant, name="Mine")
    client.force_login(owner.user)

    response = client.post(dashboard_url("project-edit", tenant, project_id=project.pk), {**NEW, "name": "TAKEN"})

    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["name"])
    assert Project.objects.for_tenant(tenant).get(pk=project.pk).name == "Mine"


def test_the_edit_form_starts_from_the_current_settings(client: Client, tenant: Tenant, owner: Membership) -> None:
    project = ProjectFactory(tenant=tenant, name="Mine", confidence_threshold=0.42)
    client.force_login(owner.user)

    page = client.get(dashboard_url("project-edit", tenant, project_id=project.pk)).content.decode()

    assert 'value="Mine"' in page and 'value="0.42"' in page


def test_the_detail_page_shows_the_settings(
    client: Client, tenant: Tenant, member_of: Callable[..., Membership]
) -> None:
    project = ProjectFactory(tenant=tenant, name="Mine", description="All the tickets", confidence_threshold=0.3)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()

    assert "All the tickets" in page and "0.3" in page and "Customer-service intents" in page
    assert "Edit" not in page.split('id="settings"')[1].split("</article>")[0]  # a viewer cannot edit


def test_another_tenants_project_answers_404_under_this_tenant(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership
) -> None:
    theirs = ProjectFactory(tenant=other_tenant, name="Theirs")
    client.force_login(owner.user)

    for name in ("project-detail", "project-edit", "project-delete"):
        assert client.get(dashboard_url(name, tenant, project_id=theirs.pk)).status_code == 404
    assert client.post(dashboard_url("project-delete", tenant, project_id=theirs.pk)).status_code == 404
    assert Project.objects.for_tenant(other_tenant).filter(pk=theirs.pk).exists()


def test_the_empty_list_invites_creating_the_first_project(client: Client, tenant: Tenant, owner: Membership) -> None:
    client.force_login(owner.user)

    page = client.get(dashboard_url("project-list", tenant)).content.decode()

    assert "No projects yet" in page and "create your first project" in page


# --- the list at scale: pages, search by name, filter by use case ------------------------------------------


def _names(page: str) -> set[str]:
    import re

    return set(re.findall(r">(Project \d{3}|Reco \d{3})</a>", page))


def test_the_project_list_pages_and_keeps_its_search(client: Client, tenant: Tenant, owner: Membership) -> None:
    for i in range(40):
        ProjectFactory(tenant=tenant, name=f"Project {i:03d}")
    client.force_login(owner.user)
    url = dashboard_url("project-list", tenant)

    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()
    searched = client.get(url + "?q=project+00").content.decode()

    assert _names(first) and _names(second) and not _names(first) & _names(second)
    assert _names(first) | _names(second) == {f"Project {i:03d}" for i in range(40)}
    assert _names(searched) == {f"Project {i:03d}" for i in range(10)}


def test_the_project_list_filters_by_use_case(client: Client, tenant: Tenant, owner: Membership) -> None:
    for i in range(30):
        ProjectFactory(tenant=tenant, name=f"Reco {i:03d}", use_case="recommendation")
    ProjectFactory(tenant=tenant, name="Project 001", use_case="customer_service")
    client.force_login(owner.user)
    url = dashboard_url("project-list", tenant)

    page = client.get(url + "?use_case=customer_service").content.decode()
    recos = client.get(url + "?use_case=recommendation").content.decode()
    bad = client.get(url + "?use_case=astrology")

    assert _names(page) == {"Project 001"}
    assert "use_case=recommendation&amp;page=2" in recos
    assert bad.status_code == 400 and "Use case must be one of" in bad.content.decode()


def test_the_project_list_shows_no_other_tenants_projects(
    client: Client, tenant: Tenant, other_tenant: Tenant, owner: Membership
) -> None:
    ProjectFactory(tenant=other_tenant, name="Project 999")
    ProjectFactory(tenant=tenant, name="Project 001")
    client.force_login(owner.user)

    page = client.get(dashboard_url("project-list", tenant) + "?q=Project").content.decode()

    assert _names(page) == {"Project 001"}
