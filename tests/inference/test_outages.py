"""What the API answers while a service behind it is down: Redis (the rate limits' counter) and PostgreSQL.

``bench/cluster.py`` does the same to a real cluster; these keep the answers from regressing."""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from billing.models import UsageRecord
from inference.api import throttles
from tests.factories import ProjectFactory


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once, as to a stopped server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support", use_case="customer_service")


def test_predictions_go_on_without_rate_limits_while_redis_is_unreachable(
    tenant, project, key_client, deploy, settings, caplog, monkeypatch
):
    deploy(project, "full")
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}
    }
    settings.PREDICT_RATE_PER_KEY = 1
    monkeypatch.setattr(throttles, "_warned_window", None)  # this process has not warned in this window yet
    client = key_client(tenant, scopes=("predict",))

    with caplog.at_level(logging.WARNING, logger="inference.api.throttles"):
        answers = [client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": ["pizza"]}, format="json")]
        answers += [client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": ["song"]}, format="json")]

    assert [a.status_code for a in answers] == [200, 200], answers[-1].content  # not 500, and not counted
    assert UsageRecord.objects.for_tenant(tenant).count() == 2
    warnings = [r for r in caplog.records if "rate limits not enforced" in r.getMessage()]
    assert len(warnings) == 1  # once a window, not once a request


def test_an_unreachable_database_answers_503_with_retry_after(tenant, key_client, monkeypatch):
    client = key_client(tenant)
    client.raise_request_exception = False  # answer as the server would, not raise into the test

    def refused(self):
        raise OperationalError('connection failed: connection to server at "127.0.0.1" failed: Connection refused')

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refused)
    response = client.get("/api/v1/projects/")
    monkeypatch.undo()

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"
