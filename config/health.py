"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        # The filesystem transport "connects" to anything: check its folders are writable instead.
        if conn.transport_cls == "filesystem":
            for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
                if isinstance(folder, str):
                    probe = f"{folder}/.ready-{uuid.uuid4().hex}"
                    open(probe, "w").close()
                    os.remove(probe)


def _check_storage() -> None:
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)


CHECKS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("database", _check_database),
    ("broker", _check_broker),
    ("storage", _check_storage),
)
# This process's last answer and when it was made (time.monotonic()): reused for READYZ_CACHE_S.
_last: tuple[float, dict[str, str]] | None = None
_lock = threading.Lock()


def _run_checks() -> dict[str, str]:
    """Each dependency's state: "ok" or "down"; what went wrong goes to the log, never to the caller."""
    checks: dict[str, str] = {}
    for name, check in CHECKS:
        try:
            check()
        except Exception:  # any failure means "not ready"
            logger.exception("readiness: %s is down", name)
            checks[name] = "down"
        else:
            checks[name] = "ok"
    return checks


def readiness() -> dict[str, str]:
    """The checks' results, asked again at most once every ``READYZ_CACHE_S`` seconds in this process."""
    global _last
    with _lock:
        now = time.monotonic()
        if _last is None or now - _last[0] >= settings.READYZ_CACHE_S:
            _last = (now, _run_checks())
        return dict(_last[1])


def forget_readiness() -> None:
    """Drop the cached answer: the next probe asks every dependency."""
    global _last
    with _lock:
        _last = None


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    down = [name for name, result in checks.items() if result != "ok"]
    body: dict[str, object] = {"status": "ok" if not down else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
