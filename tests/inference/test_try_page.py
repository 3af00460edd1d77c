"""The project page's try-it box and code samples."""

from __future__ import annotations

import pytest

from billing.models import UsageRecord
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support", confidence_threshold=0.5)


def try_url(project):
    return dashboard_url("project-try", project.tenant, project_id=project.pk)


def test_a_viewer_tries_a_text_and_sees_label_scores_and_no_usage_is_billed(client, tenant, project, member_of, deploy):
    deploy(project, "full")
    client.force_login(member_of(tenant, Role.VIEWER).user)

    response = client.post(try_url(project), {"text": "pizza bread soup"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.startswith('<div id="try-result"')
    assert "<strong>food</strong>" in page and "music" in page and "Model v1" in page
    assert not UsageRecord.objects.for_tenant(tenant).exists()


def test_without_javascript_the_result_comes_as_a_whole_page(client, tenant, project, owner, deploy):
    deploy(project, "full")
    client.force_login(owner.user)

    response = client.post(try_url(project), {"text": "guitar piano"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and "<strong>music</strong>" in page


def test_an_empty_text_is_a_form_error(client, tenant, project, owner, deploy):
    deploy(project, "full")
    client.force_login(owner.user)

    response = client.post(try_url(project), {"text": "   "}, **HTMX)

    assert response.status_code == 400
    assert "Type a text to classify." in response.content.decode()


def test_without_a_deployed_model_the_page_says_so_and_a_try_answers_409(client, tenant, project, owner):
    client.force_login(owner.user)

    page = client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()
    response = client.post(try_url(project), {"text": "pizza"}, **HTMX)

    assert "No model is deployed yet" in page and 'id="try-text"' not in page
    assert response.status_code == 409
    assert "no deployed model" in response.content.decode()


def test_the_project_page_shows_the_box_and_code_samples_with_its_predict_url(client, tenant, project, owner, deploy):
    deploy(project, "full")
    client.force_login(owner.user)

    page = client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()

    assert 'id="try-text"' in page
    assert f"http://testserver/api/v1/projects/{project.pk}/predict/" in page
    assert "curl -X POST" in page and "import requests" in page


def test_anonymous_visitors_are_sent_to_log_in(client, project):
    response = client.post(try_url(project), {"text": "pizza"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_another_tenants_member_gets_404(client, other_tenant, project, member_of, deploy):
    deploy(project, "full")
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    response = client.post(try_url(project), {"text": "pizza"}, **HTMX)

    assert response.status_code == 404
