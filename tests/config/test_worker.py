"""A real Celery worker process, on the configured broker (Redis in CI, the filesystem broker locally)."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from config.celery import ping

pytestmark = pytest.mark.worker


def test_task_round_trips_through_a_real_worker_and_reaches_the_database(transactional_db, celery_worker_process):
    result = ping.delay(time.time()).get(timeout=60)

    assert result["pong"] is True
    assert result["database"] is True


def test_ping_worker_command_reports_the_round_trip(transactional_db, celery_worker_process, capsys):
    call_command("ping_worker", "--timeout", "60")

    assert capsys.readouterr().out.startswith("worker ok: round trip")
