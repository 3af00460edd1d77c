"""Feedback: corrections over the API, unsure predictions kept for review, the review list, and the reviewed
texts made into a new training dataset in one action."""

from __future__ import annotations

import pytest

from inference.models import Feedback
from projects.models import Dataset
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url, named_csv

FOOD = "pizza bread cheese soup"


@pytest.fixture
def project(tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Support", confidence_threshold=0.5)
    deploy(project, "full")
    return project


def url(project):
    return f"/api/v1/projects/{project.pk}/feedback/"


def test_a_correction_sent_over_the_api_waits_for_review(tenant, project, key_client):
    response = key_client(tenant, scopes=("predict",)).post(url(project), {"text": FOOD, "label": "music"})

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["labels"]) == ("pending", ["music"])
    listed = key_client(tenant).get(url(project) + "?status=pending").json()["results"]
    assert [item["text"] for item in listed] == [FOOD]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": FOOD}, "labels"),
        ({"text": " ", "label": "food"}, "text"),
        ({"text": FOOD, "labels": ["a", "b"]}, "labels"),
    ],
    ids=["no-label", "empty-text", "two-labels-on-a-single-label-project"],
)
def test_bad_feedback_is_refused_naming_the_field(tenant, project, key_client, payload, field):
    response = key_client(tenant).post(url(project), payload, format="json")

    assert response.status_code == 400
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert not Feedback.objects.for_tenant(tenant).exists()


def test_unsure_predictions_are_kept_for_review_and_sure_ones_are_not(tenant, project, key_client):
    project.confidence_threshold = 0.999
    project.save()
    client = key_client(tenant)

    client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": [FOOD, "guitar"]}, format="json")

    kept = Feedback.objects.for_tenant(tenant).order_by("text")
    assert [(f.text, f.source, f.predicted_label) for f in kept] == [
        ("guitar", "low_confidence", "music"),
        (FOOD, "low_confidence", "food"),
    ]
    project.confidence_threshold = 0.0
    project.save()
    client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": ["drum"]}, format="json")
    assert kept.count() == 2


def test_a_project_can_keep_no_texts_for_review(tenant, project, key_client):
    project.confidence_threshold = 0.999
    project.review_low_confidence = False
    project.save()

    key_client(tenant).post(f"/api/v1/projects/{project.pk}/predict/", {"texts": [FOOD]}, format="json")

    assert not Feedback.objects.for_tenant(tenant).exists()


def test_reviewed_texts_become_a_new_dataset_with_the_base_datasets_rows(
    client, tenant, project, key_client, member_of
):
    manager = key_client(tenant)
    data = "text,label\n" + "".join(f"pizza soup {i},food\nguitar song {i},music\n" for i in range(5))
    base = manager.post(
        f"/api/v1/projects/{project.pk}/datasets/", {"file": named_csv(data.encode(), "train.csv")}
    ).json()
    manager.post(url(project), {"text": "violin concerto", "label": "music"})
    manager.post(url(project), {"text": "spam spam", "label": "food"})
    accepted, rejected = Feedback.objects.for_tenant(tenant).order_by("text").reverse()
    client.force_login(member_of(tenant, Role.MEMBER).user)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    client.post(review, {"feedback_id": accepted.pk, "action": "accept", "label": "music"})
    client.post(review, {"feedback_id": rejected.pk, "action": "reject"})
    response = client.post(review, {"action": "dataset", "dataset_id": base["id"]})

    made = Dataset.objects.for_tenant(tenant).exclude(pk=base["id"]).get()
    assert response.status_code == 302 and str(made.pk) in response["Location"]
    assert (made.status, made.rows_usable, str(made.parent_id)) == ("ready", 11, base["id"])
    assert Feedback.objects.for_tenant(tenant).get(pk=accepted.pk).dataset_id == made.pk
    again = client.post(review, {"action": "dataset"}, follow=True).content.decode()
    assert "No reviewed texts to add" in again


def test_a_new_label_can_be_given_in_review(client, tenant, project, key_client, member_of):
    key_client(tenant).post(url(project), {"text": "my card was stolen", "label": "card_lost"})
    item = Feedback.objects.for_tenant(tenant).get()
    client.force_login(member_of(tenant, Role.MEMBER).user)

    page = client.get(dashboard_url("review-list", tenant, project_id=project.pk)).content.decode()
    client.post(
        dashboard_url("review-list", tenant, project_id=project.pk),
        {"feedback_id": item.pk, "action": "accept", "label": "food", "new_label": "card_lost"},
    )

    assert "my card was stolen" in page and 'value="card_lost"' in page
    item.refresh_from_db()
    assert (item.status, item.labels) == ("accepted", ["card_lost"])


def test_a_viewer_reads_the_review_list_but_cannot_review(client, tenant, project, key_client, member_of):
    key_client(tenant).post(url(project), {"text": FOOD, "label": "food"})
    item = Feedback.objects.for_tenant(tenant).get()
    client.force_login(member_of(tenant, Role.VIEWER).user)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    page = client.get(review).content.decode()
    response = client.post(review, {"feedback_id": item.pk, "action": "accept"})

    assert FOOD in page and 'name="action"' not in page
    assert response.status_code == 403
    assert Feedback.objects.for_tenant(tenant).get().status == "pending"


def test_another_tenant_gets_404_on_the_api_and_the_page(client, other_tenant, project, key_client, member_of):
    assert key_client(other_tenant).post(url(project), {"text": FOOD, "label": "food"}).status_code == 404
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    assert client.get(dashboard_url("review-list", project.tenant, project_id=project.pk)).status_code == 404


def test_anonymous_gets_401(api_client, project):
    assert api_client.post(url(project), {"text": FOOD, "label": "food"}).status_code == 401
