"""Dataset pages of the dashboard: upload, mapping preview, the report, fix, delete; roles and tenants."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from projects.models import Dataset
from tenants.models import Role
from tests.factories import GOOD, ProjectFactory, named_csv, stored_files

DIRTY = GOOD + b"message 1 about my card,card\n  ,card\nmessage 3 about my card,Card\n"


def url(name: str, tenant, project, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


def signed_in(client, membership):
    client.force_login(membership.user)
    return client


def post_upload(client, tenant, project, data=GOOD, json=False, **fields):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(
        url("dataset-list", tenant, project), {"file": named_csv(data, "train.csv"), **fields}, **headers
    )


def test_upload_from_the_page_checks_the_file_and_shows_its_report(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))

    response = post_upload(client, tenant, project, DIRTY)

    dataset = Dataset.objects.for_tenant(tenant).get()
    assert response.status_code == 302
    assert response["Location"] == url("dataset-detail", tenant, project, dataset_id=dataset.pk)
    page = client.get(response["Location"]).content.decode()
    assert "train.csv" in page and "Apply the suggested fixes" in page
    assert 'id="label-chart"' in page


def test_the_report_page_shows_the_same_findings_as_the_api(client, tenant, project, member_of, key_client):
    client = signed_in(client, member_of(tenant, Role.VIEWER))
    response = key_client(tenant).post(
        f"/api/v1/projects/{project.pk}/datasets/", {"file": named_csv(DIRTY, "d.csv")}, format="multipart"
    )
    api_findings = response.json()["report"]["findings"]

    page = html.unescape(
        client.get(url("dataset-detail", tenant, project, dataset_id=response.json()["id"])).content.decode()
    )

    assert len(api_findings) >= 3
    for finding in api_findings:
        assert finding["message"] in page


def test_the_script_upload_gets_json_with_the_page_to_go_to(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))

    body = post_upload(client, tenant, project, json=True).json()

    assert body["status"] == "ready"
    assert body["url"].endswith(f"/datasets/{body['id']}/")


def test_an_unreadable_file_shows_its_error_and_stores_nothing(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))

    page = post_upload(client, tenant, project, b"%PDF-1.5 not a csv")
    as_json = post_upload(client, tenant, project, b'text,label\n"open quote,card\nx,y\n', json=True)

    assert page.status_code == 400
    assert "is a PDF document, not text" in page.content.decode()
    assert as_json.status_code == 400
    assert (as_json.json()["error"]["code"], as_json.json()["error"]["row"]) == ("unterminated_quote", 2)
    assert not Dataset.all_tenants.exists()
    assert stored_files(tenant) == []


def test_preview_returns_columns_and_first_rows_for_the_mapping_step(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))

    response = client.post(
        url("dataset-preview", tenant, project),
        {"file": named_csv(b"review;sentiment\ngreat film;pos\nawful;neg\n", "r.csv")},
    )

    body = response.json()
    assert (body["columns"], body["text_column"], body["label_column"]) == (
        ["review", "sentiment"],
        "review",
        "sentiment",
    )
    assert body["preview"] == [["great film", "pos"], ["awful", "neg"]]
    assert stored_files(tenant) == []


def test_the_chosen_columns_are_used(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))
    data = b"a,b\n" + b"".join(f"text number {i},{'x' if i % 2 else 'y'}\n".encode() for i in range(10))

    post_upload(client, tenant, project, data, text_column="a", label_column="b", multi_label="false")

    dataset = Dataset.objects.for_tenant(tenant).get()
    assert (dataset.text_column, dataset.label_column, dataset.rows_usable) == ("a", "b", 10)


def test_fix_from_the_page_makes_the_next_version(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.MEMBER))
    post_upload(client, tenant, project, DIRTY)
    original = Dataset.objects.for_tenant(tenant).get()

    response = client.post(url("dataset-fix", tenant, project, dataset_id=original.pk))

    fixed = Dataset.objects.for_tenant(tenant).get(version=2)
    assert response["Location"] == url("dataset-detail", tenant, project, dataset_id=fixed.pk)
    assert (fixed.parent_id, fixed.status) == (original.pk, "ready")


def test_delete_from_the_page_removes_row_and_file(
    client, tenant, project, member_of, django_capture_on_commit_callbacks
):
    client = signed_in(client, member_of(tenant, Role.MEMBER))
    post_upload(client, tenant, project)
    dataset = Dataset.objects.for_tenant(tenant).get()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("dataset-delete", tenant, project, dataset_id=dataset.pk))

    assert not Dataset.objects.for_tenant(tenant).exists()
    assert stored_files(tenant) == []


def test_a_dataset_being_checked_polls_for_progress(client, tenant, project, member_of):
    client = signed_in(client, member_of(tenant, Role.VIEWER))
    dataset = Dataset.all_tenants.create(
        tenant=tenant,
        project=project,
        name="big.csv",
        file="x",
        size_bytes=10,
        sha256="0" * 64,
        status="checking",
        progress=0.4,
        rows_read=1234,
    )

    page = client.get(url("dataset-detail", tenant, project, dataset_id=dataset.pk)).content.decode()
    partial = client.get(
        url("dataset-detail", tenant, project, dataset_id=dataset.pk) + "?part=status", HTTP_HX_REQUEST="true"
    ).content.decode()

    assert 'hx-trigger="every 2s"' in page
    assert "1,234 rows read" in partial and 'value="40"' in partial


# --- who may do what -------------------------------------------------------------------------------------

PAGES = [
    ("GET", "dataset-list", False),
    ("GET", "dataset-detail", True),
    ("POST", "dataset-list", False),
    ("POST", "dataset-preview", False),
    ("POST", "dataset-fix", True),
    ("POST", "dataset-delete", True),
]


def _request(client, method, name, tenant, project, dataset):
    kwargs = {"dataset_id": dataset.pk} if name in ("dataset-detail", "dataset-fix", "dataset-delete") else {}
    target = url(name, tenant, project, **kwargs)
    if method == "GET":
        return client.get(target)
    return client.post(target, {"file": named_csv(DIRTY, "d.csv")})


@pytest.fixture
def dataset(tenant, project, member_of, client):
    post_upload(signed_in(client, member_of(tenant, Role.MEMBER)), tenant, project, DIRTY)
    client.logout()
    return Dataset.objects.for_tenant(tenant).get()


@pytest.mark.parametrize(("method", "name", "_"), PAGES)
def test_anonymous_is_sent_to_log_in(client, tenant, project, dataset, method, name, _):
    response = _request(client, method, name, tenant, project, dataset)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("method", "name", "_"), PAGES)
def test_a_member_of_another_tenant_gets_404(
    client, tenant, other_tenant, project, dataset, member_of, method, name, _
):
    signed_in(client, member_of(other_tenant, Role.OWNER))

    assert _request(client, method, name, tenant, project, dataset).status_code == 404


@pytest.mark.parametrize(("method", "name", "_"), [p for p in PAGES if p[0] == "POST"])
def test_a_viewer_may_not_change_anything(client, tenant, project, dataset, member_of, method, name, _):
    signed_in(client, member_of(tenant, Role.VIEWER))

    assert _request(client, method, name, tenant, project, dataset).status_code == 403
    assert Dataset.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize(("method", "name", "_"), [p for p in PAGES if p[0] == "GET"])
def test_a_viewer_may_look(client, tenant, project, dataset, member_of, method, name, _):
    signed_in(client, member_of(tenant, Role.VIEWER))

    assert _request(client, method, name, tenant, project, dataset).status_code == 200


def test_another_projects_dataset_is_not_found_under_this_project(client, tenant, project, dataset, member_of):
    other = ProjectFactory(tenant=tenant)
    signed_in(client, member_of(tenant, Role.OWNER))

    assert client.get(url("dataset-detail", tenant, other, dataset_id=dataset.pk)).status_code == 404
