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
