"""The review page at scale: pages, filters, bulk accept and reject, and a training dataset made from the
reviewed texts that the data check accepts (or a clear refusal naming why)."""

from __future__ import annotations

import re

import pytest

from inference.models import Feedback, FeedbackSource, FeedbackStatus
from projects.models import Dataset, DatasetStatus
from projects.services.dataset_checks import limits
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url, named_csv


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support")


def unsure(project, n: int, *, label: str = "refund", text: str = "unsure text") -> list[Feedback]:
    """``n`` low-confidence predictions waiting for review, numbered so each is told apart."""
    rows = [
        Feedback(
            tenant=project.tenant,
            project=project,
            text=f"{text} {i:04d}",
            predicted_label=label,
            score=0.3,
            source=FeedbackSource.LOW_CONFIDENCE,
        )
        for i in range(n)
    ]
    return Feedback.objects.for_tenant(project.tenant).bulk_create(rows)


def texts_on(page: str) -> set[str]:
    return set(re.findall(r"unsure text \d{4}|other text \d{4}", page))


@pytest.fixture
def member(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    return client


# --- pages and filters -------------------------------------------------------------------------------------


def test_the_review_list_pages_through_every_pending_text(member, tenant, project):
    unsure(project, 120)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    first = member.get(review).content.decode()
    second = member.get(review + "?page=2").content.decode()
    seen = texts_on(first) | texts_on(second)
    pages = [member.get(review + f"?page={n}").content.decode() for n in range(3, 6)]
    for page in pages:
        seen |= texts_on(page)

    assert texts_on(first) and texts_on(second) and not texts_on(first) & texts_on(second)
    assert "120 in all" in first and 'rel="next"' in first
    assert len(seen) == 120


def test_filters_narrow_the_list_and_the_pages_keep_them(member, tenant, project):
    unsure(project, 60, label="refund")
    unsure(project, 3, label="card", text="other text")
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    by_label = member.get(review + "?label=card").content.decode()
    by_text = member.get(review + "?q=other+text+0001").content.decode()
    paged = member.get(review + "?label=refund").content.decode()

    assert texts_on(by_label) == {"other text 0000", "other text 0001", "other text 0002"}
    assert texts_on(by_text) == {"other text 0001"}
    assert "label=refund&amp;page=2" in paged


def test_reviewed_texts_are_listed_under_their_status(member, tenant, project):
    accepted, rejected, waiting = unsure(project, 3)
    Feedback.objects.for_tenant(tenant).filter(pk=accepted.pk).update(status=FeedbackStatus.ACCEPTED)
    Feedback.objects.for_tenant(tenant).filter(pk=rejected.pk).update(status=FeedbackStatus.REJECTED)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    assert texts_on(member.get(review).content.decode()) == {waiting.text}
    assert texts_on(member.get(review + "?status=accepted").content.decode()) == {accepted.text}
    everything = texts_on(member.get(review + "?status=all").content.decode())
    assert everything == {f.text for f in (accepted, rejected, waiting)}


def test_an_unknown_filter_value_is_refused_clearly(member, tenant, project):
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    response = member.get(review + "?status=maybe")

    assert response.status_code == 400
    assert "Status must be one of" in response.content.decode()


# --- bulk actions ------------------------------------------------------------------------------------------


def test_selected_texts_are_accepted_with_the_label_the_model_gave(member, tenant, project):
    items = unsure(project, 5)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    response = member.post(review, {"action": "accept_selected", "selected": [items[0].pk, items[1].pk]}, follow=True)

    statuses = dict(Feedback.objects.for_tenant(tenant).values_list("pk", "status"))
    assert [statuses[f.pk] for f in items] == ["accepted", "accepted", "pending", "pending", "pending"]
    assert Feedback.objects.for_tenant(tenant).get(pk=items[0].pk).labels == ["refund"]
    assert "2 texts accepted" in response.content.decode()


def test_every_text_matching_the_filter_is_rejected_at_once(member, tenant, project):
    unsure(project, 130, label="refund")
    keep = unsure(project, 2, label="card", text="other text")
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    response = member.post(review + "?label=refund", {"action": "reject_matching"}, follow=True)

    pending = Feedback.objects.for_tenant(tenant).filter(status=FeedbackStatus.PENDING)
    assert set(pending.values_list("pk", flat=True)) == {f.pk for f in keep}
    rejected = Feedback.objects.for_tenant(tenant).filter(status=FeedbackStatus.REJECTED)
    assert rejected.count() == 130 and not rejected.filter(reviewed_by__isnull=True).exists()
    assert "130 texts rejected" in response.content.decode()


def test_a_viewer_cannot_bulk_review(client, tenant, project, member_of):
    items = unsure(project, 2)
    client.force_login(member_of(tenant, Role.VIEWER).user)
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    response = client.post(review, {"action": "reject_matching"})

    assert response.status_code == 403
    assert (
        not Feedback.objects.for_tenant(tenant)
        .exclude(status=FeedbackStatus.PENDING)
        .filter(pk__in=[f.pk for f in items])
    )


def test_another_tenants_texts_cannot_be_bulk_reviewed(client, tenant, other_tenant, project, member_of):
    theirs = unsure(project, 2)
    mine = ProjectFactory(tenant=other_tenant, name="Mine")
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    into_theirs = client.post(
        dashboard_url("review-list", tenant, project_id=project.pk), {"action": "reject_matching"}
    )
    via_mine = client.post(
        dashboard_url("review-list", other_tenant, project_id=mine.pk),
        {"action": "reject_selected", "selected": [f.pk for f in theirs]},
    )

    assert into_theirs.status_code == 404 and via_mine.status_code == 404
    assert Feedback.objects.for_tenant(tenant).filter(status=FeedbackStatus.PENDING).count() == 2


# --- a training dataset from the reviewed texts ------------------------------------------------------------


BASE = b"text,label\n" + b"".join(f"pizza {i},food\nsong {i},music\n".encode() for i in range(5))


def _base(key_client, tenant, project) -> str:
    """A ready dataset of two labels, five examples each; its id."""
    response = key_client(tenant).post(
        f"/api/v1/projects/{project.pk}/datasets/", {"file": named_csv(BASE, "train.csv")}
    )
    return response.json()["id"]


def _accept(project, text: str, label: str) -> Feedback:
    item = Feedback.objects.for_tenant(project.tenant).create(
        tenant=project.tenant,
        project=project,
        text=text,
        labels=[label],
        source=FeedbackSource.API,
        status=FeedbackStatus.ACCEPTED,
    )
    return item


def test_a_dataset_the_data_check_would_reject_is_not_made(member, tenant, project, key_client):
    base = _base(key_client, tenant, project)
    lonely = _accept(project, "my card was stolen", "card_lost")
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    page = member.post(review, {"action": "dataset", "dataset_id": base}, follow=True).content.decode()

    assert Dataset.objects.for_tenant(tenant).count() == 1
    assert "train on it next" not in page
    assert "card_lost" in page and f"fewer than {limits().min_examples} examples" in page
    assert Feedback.objects.for_tenant(tenant).get(pk=lonely.pk).dataset_id is None


def test_the_made_dataset_says_what_it_was_made_from(member, tenant, project, key_client):
    base = _base(key_client, tenant, project)
    _accept(project, "violin concerto", "music")
    _accept(project, "tomato soup", "food")
    review = dashboard_url("review-list", tenant, project_id=project.pk)

    response = member.post(review, {"action": "dataset", "dataset_id": base}, follow=True)
    page = response.content.decode()

    made = Dataset.objects.for_tenant(tenant).exclude(pk=base).get()
    assert made.status == DatasetStatus.READY and "train on it next" in page
    assert "2 reviewed texts" in page and "suggested fixes" not in page
