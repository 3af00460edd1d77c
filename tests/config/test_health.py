"""Liveness and readiness probes, against the real broker, database and storage of the test run."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def broker_unreachable():
    """Point the Celery app, which the probe asks for its connection, at a port nothing listens on."""
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = UNREACHABLE_BROKER
    yield
    celery_app.conf.broker_url = previous


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "not-a-directory"
    path.write_text("in the way")
    return path


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_is_not_cached(client):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


def test_healthz_accepts_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_readyz_answers_ok_when_everything_is_up(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}


def test_readyz_leaves_no_probe_file_in_storage(client):
    client.get("/readyz")

    health = Path(settings.MEDIA_ROOT) / "health"
    assert not health.exists() or list(health.iterdir()) == []


def test_readyz_answers_503_naming_an_unreachable_broker(client, broker_unreachable):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker"]
    assert body["checks"]["broker"].startswith("down: ")
    assert "127.0.0.1:1" in body["checks"]["broker"]
    assert body["checks"]["database"] == body["checks"]["storage"] == "ok"


def test_readyz_answers_503_when_filesystem_broker_folders_are_not_writable(client, a_file):
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the embedded filesystem broker is not in use")
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "data_folder_in": str(a_file / "messages")}

    with override_settings(CELERY_BROKER_TRANSPORT_OPTIONS=options):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_readyz_answers_503_naming_storage_that_cannot_be_written(client, a_file):
    with override_settings(MEDIA_ROOT=str(a_file / "media")):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["storage"]
    assert body["checks"]["storage"].startswith("down: ")
    assert body["checks"]["broker"] == "ok"
