"""Log records that say whose work and which request they belong to, as text or one JSON object a line.

Only the fields named here leave the process: a record's ``args`` are formatted into its message by the
code that logs it, and nothing else the record carries (Django attaches the ``request`` to its error
records) is written out, so no request body, header or cookie reaches the log through a formatter.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging

from tenants.db import current_tenant_id

# The request (or the task enqueued by one) that the current code serves: set by the web middleware
# (config.observability) and, on a Celery worker, from the task's headers (config.celery).
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_request_id", default=None)
# The tenant a web request served, kept after its tenant database context has closed, for the lines
# written once the response is on its way (the request log, Django's "Bad Request" warnings).
request_tenant_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_tenant_id", default=None)

# The fields of the request log (config.observability), written when a record carries them.
EXTRA_FIELDS = ("method", "path", "route", "status", "duration_ms")


class TenantContextFilter(logging.Filter):
    """Adds ``tenant_id`` and ``request_id`` to every record, so each log line says whose work it was and
    which request it served. A value given in ``extra`` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant_id = (
            getattr(record, "tenant_id", None) or current_tenant_id.get() or request_tenant_id.get() or "-"
        )
        record.request_id = getattr(record, "request_id", None) or current_request_id.get() or "-"
        return True


def _or_null(value: object) -> object:
    return None if value in (None, "-") else value


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, tenant_id, the
    request log's fields when present, and ``exception`` (the traceback) for a record logged with one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _or_null(getattr(record, "request_id", None)),
            "tenant_id": _or_null(getattr(record, "tenant_id", None)),
        }
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)
