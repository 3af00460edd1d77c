"""Stored files are never served by URL: not under /media/, not in development either. Downloads go through
views that check the tenant and the role."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve
from django.views.static import serve

from tenants.models import Role
from tenants.storage import tenant_file_path


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def debug_urls() -> Iterator[ModuleType]:
    """The URLconf as a development server (DEBUG=1, as ``make run`` sets) builds it."""
    import config.urls

    with override_settings(DEBUG=True):
        clear_url_caches()
        yield importlib.reload(config.urls)
    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def stored(tenant) -> Iterator[str]:
    name = default_storage.save(
        tenant_file_path(tenant.pk, "projects", "p", "datasets", "d", "original.csv"),
        ContentFile(b"text,label\nmy card number is 4111,card\n"),
    )
    yield name
    default_storage.delete(name)


def test_no_url_serves_stored_files_even_in_development(debug_urls, stored):
    try:
        match = resolve(f"/media/{stored}")
    except Resolver404:
        return
    assert match.func is not serve, "stored files are served by URL"


def test_a_stored_file_is_not_downloadable_anonymously_in_development(debug_urls, stored, client):
    assert default_storage.exists(stored)

    response = client.get(f"/media/{stored}")

    assert response.status_code == 404
    assert b"4111" not in body(response)


# --- the downloads the product offers: the results of a batch prediction ---------------------------------


@pytest.fixture
def finished_batch(tenant, project):
    from inference.models import BatchPrediction, BatchStatus

    job = BatchPrediction.all_tenants.create(
        tenant=tenant, project=project, name="in.csv", size_bytes=5, format="csv", text_column="text"
    )
    job.result_file = default_storage.save(
        tenant_file_path(tenant.pk, "projects", str(project.pk), "batches", str(job.pk), "results.csv"),
        ContentFile(b"text,predicted_label\nmy card number is 4111,card\n"),
    )
    job.status = BatchStatus.SUCCEEDED
    job.save(update_fields=["result_file", "status"])
    yield job
    default_storage.delete(job.result_file)


def test_batch_results_on_the_dashboard_only_for_members_of_its_tenant(
    client, tenant, other_tenant, project, member_of, finished_batch
):
    from tests.factories import dashboard_url

    page = dashboard_url("batch-results", tenant, project_id=project.pk, batch_id=finished_batch.pk)

    anonymous = client.get(page)
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    stranger = client.get(page)
    client.force_login(member_of(tenant, Role.VIEWER).user)
    viewer = client.get(page)

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert stranger.status_code == 404 and b"4111" not in body(stranger)
    assert viewer.status_code == 200 and b"4111" in body(viewer)


def test_batch_results_over_the_api_need_the_tenant_the_project_and_the_read_scope(
    tenant, other_tenant, project, key_client, finished_batch
):
    from tests.factories import ProjectFactory

    url = f"/api/v1/batch-predictions/{finished_batch.pk}/results/"
    elsewhere = ProjectFactory(tenant=tenant, name="Elsewhere")

    assert key_client(other_tenant, scopes=("read",)).get(url).status_code == 404
    assert key_client(tenant, scopes=("read",), project=elsewhere).get(url).status_code == 404
    assert key_client(tenant, scopes=("predict",)).get(url).status_code == 403
    allowed = key_client(tenant, scopes=("read",)).get(url)
    assert allowed.status_code == 200 and b"4111" in body(allowed)
