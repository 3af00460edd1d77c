"""What an operator watches: a request id and a log line per request, the latency histogram, ``/metrics``.

``RequestObservabilityMiddleware`` (outermost) takes the request id from ``X-Request-ID`` when it is a
short, safe token (else makes one), returns it in the response's ``X-Request-ID``, logs one line per
request (method, path without its query string, route name, status, duration: never a body or a header)
and times the request into ``tunebase_http_request_duration_seconds`` by route name, method and status
class. ``RequestTenantMiddleware`` (just inside the tenant database context) keeps the tenant the request
served for the lines written after that context has closed.

``/metrics`` answers 404 while ``METRICS_TOKEN`` is unset, 401 without ``Authorization: Bearer <token>``.
Besides the counters the apps keep (``tenants.observability``), it reads at scrape time the Celery queues'
lengths (Redis broker only) and the training runs by status (one grouped count).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import DatabaseError
from django.db.models import Count
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tenants import db
from tenants import observability as metrics
from tenants.db import current_tenant_id
from tenants.logging import current_request_id, request_tenant_id
from training.models import RunStatus, TrainingRun

logger = logging.getLogger("tunebase.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Probes and scrapes come every few seconds: logged at DEBUG, not INFO.
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})
QUEUES = ("default", "training", "webhooks")


def request_id_from(value: str | None) -> str:
    """The caller's request id when it is a short token of safe characters, else a new one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or match.route or "<unnamed>"


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Set for the rest of the request, cleared when it has finished (``_request_finished``): Django
        # logs a 4xx or 5xx after the last middleware has returned, and that line belongs to it too.
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        current_request_id.set(request_id)
        request_tenant_id.set(None)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        self._record(request, response.status_code, elapsed)
        return response

    @staticmethod
    def _record(request: HttpRequest, status: int, elapsed: float) -> None:
        route = _route_of(request)
        method = request.method or "-"
        metrics.REQUEST_LATENCY.labels(route=route, method=method, status=f"{status // 100}xx").observe(elapsed)
        logger.log(
            logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
            "%s %s %s %.1fms",
            method,
            request.path,
            status,
            elapsed * 1000,
            extra={
                "method": method,
                "path": request.path,  # never the query string
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )


class RequestTenantMiddleware:
    """Notes the tenant a request served (set by the API key or the dashboard view) for its log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        request_tenant_id.set(current_tenant_id.get())
        return response


@receiver(request_finished, dispatch_uid="tunebase-request-finished")
def _request_finished(**kwargs: Any) -> None:
    current_request_id.set(None)
    request_tenant_id.set(None)


# --- /metrics ----------------------------------------------------------------------------------------


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _queue_lengths() -> dict[str, int] | None:
    """Messages waiting in each Celery queue; None unless the broker is Redis (or when it cannot answer).
    Kombu keeps a queue's messages in a Redis list of its name (prioritised ones in ``<name>\\x06\\x16<n>``)."""
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    try:
        pipe = _redis_client(url).pipeline(transaction=False)
        for queue in QUEUES:
            for name in (queue, *(f"{queue}\x06\x16{priority}" for priority in (3, 6, 9))):
                pipe.llen(name)
        lengths = pipe.execute()
    except Exception:
        logger.warning("the queue lengths could not be read from the broker", exc_info=True)
        return None
    return {queue: sum(lengths[i * 4 : i * 4 + 4]) for i, queue in enumerate(QUEUES)}


def _training_runs() -> dict[str, int]:
    with db.system_context():
        counted = dict(TrainingRun.all_tenants.order_by().values_list("status").annotate(n=Count("pk")))
    return {status: int(counted.get(status, 0)) for status in RunStatus.values}


class ScrapeTimeCollector(Collector):
    """Values read when Prometheus asks: from the broker and the database, the same from any process."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lengths = _queue_lengths()
        if lengths is not None:
            queued = GaugeMetricFamily(
                "tunebase_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
            )
            for queue, length in lengths.items():
                queued.add_metric([queue], length)
            yield queued
        try:
            counted = _training_runs()
        except DatabaseError:  # the database away: the rest of the metrics still answer
            logger.warning("the training runs could not be counted", exc_info=True)
            return
        runs = GaugeMetricFamily("tunebase_training_runs", "Training runs by status.", labels=["status"])
        for status, count in counted.items():
            runs.add_metric([status], count)
        yield runs


def _forget_dead_processes(directory: Path) -> None:
    """Drop the live-sum gauges of web processes that are gone (a respawned worker), as a server's
    child-exit hook would: granian has none."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))
        except PermissionError:
            pass  # alive, another user's


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_dead_processes(Path(directory))
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_DefaultRegistry())
    registry.register(ScrapeTimeCollector())
    return registry


class _DefaultRegistry(Collector):
    """This process's own metrics (the single-process case): the default registry's."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not _authorized(request, token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
