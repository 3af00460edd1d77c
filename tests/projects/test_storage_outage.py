"""An upload while the S3 storage cannot be reached: a clear 503, and no dataset half stored."""

from __future__ import annotations

import socket

from projects.models import Dataset
from tests.factories import GOOD, upload


def test_an_upload_while_storage_is_unreachable_answers_503_and_keeps_no_dataset(
    tenant, project, key_client, settings, monkeypatch
):
    with socket.socket() as sock:  # a port nothing listens on: the storage server is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "outage-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "outage-test-secret")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "tunebase",
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
            },
        },
    }
    client = key_client(tenant)
    client.raise_request_exception = False

    response = upload(client, project, GOOD)

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert response["Retry-After"] == "5"
    assert not Dataset.objects.for_tenant(tenant).exists()
