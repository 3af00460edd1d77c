"""Large uploads are checked by a real worker, with progress, while the API answers at once."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from tests.factories import GOOD, ProjectFactory, stored_files, upload

pytestmark = pytest.mark.worker


@override_settings(DATASET_INLINE_CHECK_MB=0)
def test_a_large_upload_is_checked_by_the_worker_and_its_report_appears(
    transactional_db, tenant, key_client, celery_worker_process
):
    project = ProjectFactory(tenant=tenant)
    client = key_client(tenant)

    response = upload(client, project, GOOD + b"oops,\n")

    assert response.status_code == 202, response.content
    dataset = response.json()
    assert (dataset["status"], dataset["report"]) == ("checking", {})
    deadline = time.monotonic() + 60
    while dataset["status"] == "checking" and time.monotonic() < deadline:
        time.sleep(0.3)
        dataset = client.get(f"/api/v1/datasets/{dataset['id']}/").json()
    assert (dataset["status"], dataset["progress"], dataset["rows_usable"]) == ("ready", 1.0, 30)
    assert [f["rows"] for f in dataset["report"]["findings"] if f["code"] == "empty_label"] == [[32]]
    assert len(stored_files(tenant)) == 1
