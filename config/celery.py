"""The Celery app. Settings come from Django's (``CELERY_*``); tasks are found in each app's tasks.py."""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tunebase")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping(sent_at: float) -> dict[str, Any]:
    """A round trip through broker, worker, database and result backend (``manage.py ping_worker``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        database_ok = cursor.fetchone() == (1,)
    return {"pong": True, "database": database_ok, "queue_delay_s": round(time.time() - sent_at, 3)}
