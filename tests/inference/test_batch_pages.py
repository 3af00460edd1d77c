"""The dashboard's batch predictions page: upload, live status, download; roles."""

from __future__ import annotations

import pytest

from inference.models import BatchPrediction
from inference.services import batches
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url, named_csv


@pytest.fixture
def project(tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Support")
    deploy(project, "full")
    return project


def page(project):
    return dashboard_url("batch-list", project.tenant, project_id=project.pk)


def test_a_member_uploads_a_file_watches_it_and_downloads_the_results(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    client.post(page(project), {"file": named_csv(b"text\npizza soup\nguitar song\n", "msgs.csv")})
    job = BatchPrediction.objects.for_tenant(tenant).get()
    queued = client.get(page(project)).content.decode()
    batches.batch_run(tenant_id=str(tenant.pk), batch_id=str(job.pk))
    done = client.get(page(project), HTTP_HX_REQUEST="true").content.decode()
    download = client.get(dashboard_url("batch-results", tenant, project_id=project.pk, batch_id=job.pk))

    assert "msgs.csv" in queued and 'hx-trigger="every 2s"' in queued
    assert "2 predicted" in done and "every 2s" not in done
    assert download["Content-Disposition"] == 'attachment; filename="msgs-predictions.csv"'
    assert b"predicted_label" in b"".join(download.streaming_content)


def test_an_unreadable_file_says_why_and_queues_nothing(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(page(project), {"file": named_csv(b"\x00\x01\x02" * 300, "x.csv")}, follow=True)

    assert "The file contains NUL bytes: it is binary, not text." in response.content.decode()
    assert not BatchPrediction.objects.for_tenant(tenant).exists()


def test_a_viewer_sees_the_jobs_but_cannot_upload(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert 'type="file"' not in client.get(page(project)).content.decode()
    assert client.post(page(project), {"file": named_csv(b"text\npizza\n", "a.csv")}).status_code == 403


def test_another_tenants_member_gets_404(client, other_tenant, project, member_of):
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.get(page(project)).status_code == 404


# --- the list at scale: pages, a status filter, polling that keeps both ------------------------------------


def _jobs(project, n: int, status: str, prefix: str) -> None:
    BatchPrediction.objects.for_tenant(project.tenant).bulk_create(
        BatchPrediction(
            tenant=project.tenant,
            project=project,
            status=status,
            name=f"{prefix}-{i:03d}.csv",
            input_file="x",
            size_bytes=1,
            format="csv",
            text_column="text",
        )
        for i in range(n)
    )


def _files(page: str) -> set[str]:
    import re

    return set(re.findall(r"(?:done|live)-\d{3}\.csv", page))


def test_the_jobs_page_through_and_filter_by_status(client, tenant, member_of):
    plain = ProjectFactory(tenant=tenant, name="Plain")
    _jobs(plain, 60, "succeeded", "done")
    _jobs(plain, 2, "running", "live")
    client.force_login(member_of(tenant, Role.VIEWER).user)

    first = client.get(page(plain)).content.decode()
    second = client.get(page(plain) + "?page=2").content.decode()
    running = client.get(page(plain) + "?status=running").content.decode()
    polled = client.get(page(plain) + "?status=running", HTTP_HX_REQUEST="true").content.decode()
    bad = client.get(page(plain) + "?status=sleeping")

    assert _files(first) and _files(second) and not _files(first) & _files(second)
    assert "62 in all" in first
    assert _files(running) == {"live-000.csv", "live-001.csv"}
    # The running rows poll the list as it is filtered, not the whole list.
    assert 'hx-get="' + page(plain) + '?status=running"' in polled and _files(polled) == _files(running)
    assert bad.status_code == 400 and "Status must be one of" in bad.content.decode()
