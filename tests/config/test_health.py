"""Liveness and readiness probes, against the real broker, database and storage of the test run."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from config import health
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(autouse=True)
def _fresh_readiness(settings):
    """Each test asks the dependencies itself: no answer cached by an earlier test, none kept after."""
    health.forget_readiness()
    yield
    health.forget_readiness()


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
    assert body["checks"] == {"database": "ok", "broker": "down", "storage": "ok"}


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
    assert body["checks"]["storage"] == "down"
    assert body["checks"]["broker"] == "ok"


def test_readyz_names_what_is_down_but_keeps_the_error_for_the_log(client, broker_unreachable, caplog):
    with caplog.at_level("ERROR", logger="config.health"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert "127.0.0.1" not in response.content.decode()
    assert "Error" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "config.health"]
    assert "broker" in record.getMessage()
    assert record.exc_info is not None


def test_readyz_reuses_its_answer_for_a_few_seconds(client, a_file, settings):
    settings.READYZ_CACHE_S = 5.0
    assert client.get("/readyz").status_code == 200

    with override_settings(MEDIA_ROOT=str(a_file / "media")):
        cached = client.get("/readyz")
        health.forget_readiness()
        fresh = client.get("/readyz")

    assert cached.status_code == 200, "within the cache time no check (no storage write) runs again"
    assert fresh.status_code == 503


def test_readyz_asks_again_once_the_cache_time_is_over(client, a_file, settings, monkeypatch):
    settings.READYZ_CACHE_S = 5.0
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    assert client.get("/readyz").status_code == 200

    with override_settings(MEDIA_ROOT=str(a_file / "media")):
        now[0] += 4.0
        assert client.get("/readyz").status_code == 200
        now[0] += 2.0
        assert client.get("/readyz").status_code == 503


def test_readyz_writes_nothing_to_storage_while_its_answer_is_cached(client, settings):
    settings.READYZ_CACHE_S = 5.0
    storage_writes = []
    from django.core.files.storage import default_storage

    original_save = default_storage.save

    def counting_save(name, content, **kwargs):
        storage_writes.append(name)
        return original_save(name, content, **kwargs)

    default_storage.save = counting_save
    try:
        for _ in range(5):
            assert client.get("/readyz").status_code == 200
    finally:
        del default_storage.save

    assert len(storage_writes) == 1
