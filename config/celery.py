"""The Celery app. Settings come from Django's (``CELERY_*``); tasks are found in each app's tasks.py."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tunebase")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# --- the request id, from the request that enqueued a task to the task's log lines -----------------------
REQUEST_ID_HEADER = "request_id"
_request_id_tokens: dict[str, Any] = {}


@signals.setup_logging.connect
def _log_as_the_web_does(**kwargs: Any) -> None:
    """Workers log through the settings' LOGGING (LOG_FORMAT, tenant_id, request_id), not Celery's own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from tenants.logging import current_request_id

    request_id = current_request_id.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _adopt_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """The enqueuing request's id (a task run eagerly keeps the caller's); a task nobody's request
    enqueued (beat's) takes its own id, which the tasks it enqueues then carry."""
    from tenants.logging import current_request_id

    request_id = (task.request.get(REQUEST_ID_HEADER) if task is not None else None) or current_request_id.get()
    if task_id is not None:
        _request_id_tokens[task_id] = current_request_id.set(request_id or task_id)


@signals.task_postrun.connect
def _drop_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    from tenants.logging import current_request_id

    token = _request_id_tokens.pop(task_id or "", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing of ours to undo
            current_request_id.reset(token)


@app.task(name="config.ping")
def ping(sent_at: float) -> dict[str, Any]:
    """A round trip through broker, worker, database and result backend (``manage.py ping_worker``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        database_ok = cursor.fetchone() == (1,)
    return {"pong": True, "database": database_ok, "queue_delay_s": round(time.time() - sent_at, 3)}
