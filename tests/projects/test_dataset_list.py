"""The datasets list (a page at a time, searched by name, filtered by status) and the way from a ready
dataset to training it; long labels and cells never make the report page thousands of pixels tall."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from projects import services
from projects.models import DatasetStatus
from tenants.models import Role
from tests.factories import ProjectFactory, named_csv, ready_dataset


def url(name: str, tenant, project, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


def listed(page: str) -> list[str]:
    table = page.split('id="dataset-table"', 1)[1].split("</table>", 1)[0] if 'id="dataset-table"' in page else ""
    return re.findall(r'/datasets/[0-9a-f-]+/"[^>]*>([^<]+)</a>', table)


@pytest.fixture
def viewer(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    return client


def test_the_list_shows_a_page_at_a_time_newest_first(viewer, tenant, project):
    for i in range(30):
        ready_dataset(project, name=f"batch-{i:02}.csv")

    first = viewer.get(url("dataset-list", tenant, project)).content.decode()
    second = viewer.get(url("dataset-list", tenant, project) + "?page=2").content.decode()

    assert len(listed(first)) == 25 and len(listed(second)) == 5
    assert set(listed(first)).isdisjoint(listed(second))
    assert listed(first)[0] == "batch-29.csv"
    assert "Page 1 of 2" in first and "30 in all" in first


def test_search_by_name_and_filter_by_status_keep_each_other_across_pages(viewer, tenant, project):
    for i in range(27):
        ready_dataset(project, name=f"support-{i}.csv")
    ready_dataset(project, name="support-broken.csv", status=DatasetStatus.INVALID)
    ready_dataset(project, name="billing.csv")

    found = viewer.get(url("dataset-list", tenant, project), {"q": "SUPPORT"}).content.decode()
    invalid = viewer.get(url("dataset-list", tenant, project), {"q": "support", "status": "invalid"}).content.decode()
    ready = viewer.get(url("dataset-list", tenant, project), {"status": "ready", "q": "support"}).content.decode()
    nothing = viewer.get(url("dataset-list", tenant, project), {"q": "nope"}).content.decode()

    assert "billing.csv" not in listed(found) and "28 in all" in found
    assert listed(invalid) == ["support-broken.csv"]
    assert "support-broken.csv" not in listed(ready) and "27 in all" in ready
    assert 'href="?status=ready&amp;q=support&amp;page=2"' in ready  # the next page keeps both
    assert listed(nothing) == [] and "Show all datasets" in nothing


def test_the_list_shows_only_this_projects_and_this_tenants_datasets(viewer, tenant, project, other_tenant):
    ready_dataset(project, name="ours.csv")
    ready_dataset(ProjectFactory(tenant=tenant, name="Other project"), name="other-project.csv")
    ready_dataset(ProjectFactory(tenant=other_tenant, name="Theirs"), name="theirs.csv")

    page = viewer.get(url("dataset-list", tenant, project), {"q": ".csv"}).content.decode()

    assert listed(page) == ["ours.csv"]


def test_a_bad_status_filter_or_page_shows_the_list_rather_than_an_error(viewer, tenant, project):
    ready_dataset(project, name="one.csv")

    page = viewer.get(url("dataset-list", tenant, project), {"status": "bogus", "page": "x"})

    assert page.status_code == 200 and listed(page.content.decode()) == ["one.csv"]


def test_a_ready_dataset_has_a_train_button_to_the_runs_page_with_it_chosen(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    dataset = ready_dataset(project, report={"status": "ready", "findings": [], "labels": []})

    page = client.get(url("dataset-detail", tenant, project, dataset_id=dataset.pk)).content.decode()

    button = re.search(r'<a role="button" id="train-button" href="([^"]+)">', page)
    assert button is not None
    assert button.group(1) == url("run-list", tenant, project) + f"?dataset={dataset.pk}#start-run"
    delete = re.search(r'<button type="submit" class="([^"]*)">Delete</button>', page)
    assert delete is not None and "secondary" in delete.group(1)  # Train is the primary action
    runs = client.get(button.group(1).split("#")[0]).content.decode()
    assert f'<option value="{dataset.pk}" selected>' in runs


def test_no_train_button_on_an_invalid_dataset_or_for_a_viewer(client, tenant, project, member_of):
    invalid = ready_dataset(project, status=DatasetStatus.INVALID, report={"findings": [], "labels": []})
    ready = ready_dataset(project, name="ok.csv", report={"findings": [], "labels": []})

    client.force_login(member_of(tenant, Role.MEMBER).user)
    on_invalid = client.get(url("dataset-detail", tenant, project, dataset_id=invalid.pk)).content.decode()
    client.force_login(member_of(tenant, Role.VIEWER).user)
    as_viewer = client.get(url("dataset-detail", tenant, project, dataset_id=ready.pk)).content.decode()

    assert 'id="train-button"' not in on_invalid and 'id="train-button"' not in as_viewer


def test_texts_mapped_as_labels_are_cut_on_the_report_page(viewer, tenant, project):
    # The wrong column chosen as the label: every "label" is a long text.
    long_texts = [f"{i} " + "words " * 9_000 for i in range(3)]
    data = ("label,text\n" + "".join(f"{t},short {i}\n" for i, t in enumerate(long_texts))).encode()
    dataset, _ = services.dataset_upload(
        tenant=tenant,
        project=project,
        stream=named_csv(data, "swapped.csv"),
        name="swapped.csv",
        size=len(data),
        mapping=services.Mapping(text_column="text", label_column="label"),
    )

    page = viewer.get(url("dataset-detail", tenant, project, dataset_id=dataset.pk)).content.decode()

    assert len(page) < 40_000  # the three 54,000-character "labels" are not on the page
    assert "words " * 20 not in page
    assert "(54,001 characters)" in page  # the label, stripped
