"""Prediction rate limits per API key and per tenant: fixed one-minute windows counted in the cache.

Each limit is the tenant's plan's (``billing.selectors.limit_of``), or its setting when the plan leaves it
empty; 0 means none.

The counter is ``cache.incr`` on a key per window: atomic on Redis (production), so every web process
shares one count. A refused request gets 429 with ``Retry-After`` (the seconds left in the window).

While the cache cannot be reached (Redis down or restarting), the limits are not enforced: predictions go
on rather than fail, and each web process logs a warning once a window. They count again as soon as the
cache answers, from the count it kept (or from zero after a restart that lost it).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.selectors import limit_of
from tenants.authentication import ApiKeyPrincipal

WINDOW_S = 60
logger = logging.getLogger(__name__)
_warned_window: int | None = None


def minute_window_wait(ident: str, limit: int) -> float | None:
    """Count one more call of ``ident`` in this minute's window: None when it is within ``limit`` (0: no
    limit) or when the cache cannot count (see the module's doc), else the seconds until the next window."""
    global _warned_window
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_S)
    key = f"ratelimit:{ident}:{window}"
    # One round trip per request once the window's counter exists; the first request creates it.
    try:
        try:
            count = cache.incr(key)
        except ValueError:  # no counter yet for this window
            count = 1 if cache.add(key, 1, timeout=WINDOW_S + 5) else cache.incr(key)
    except Exception as error:  # noqa: BLE001 - each backend's own "cannot reach it" (redis's, a file's OSError)
        if _warned_window != window:
            _warned_window = window
            logger.warning("rate limits not enforced: the cache cannot count (%s: %s)", type(error).__name__, error)
        return None
    return max(1.0, (window + 1) * WINDOW_S - now) if count > limit else None


class _PerMinute(BaseThrottle):
    limit: str  # a name in billing.models.LIMIT_SETTINGS
    scope: str

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident_of(self, principal: ApiKeyPrincipal) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ApiKeyPrincipal):
            return True
        limit = int(limit_of(tenant_id=principal.api_key.tenant_id, name=self.limit))
        self._wait = minute_window_wait(f"{self.scope}:{self.ident_of(principal)}", limit)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class PerKeyThrottle(_PerMinute):
    limit = "predict_rate_per_key"
    scope = "key"

    def ident_of(self, principal: ApiKeyPrincipal) -> str:
        return str(principal.api_key.pk)


class PerTenantThrottle(_PerMinute):
    limit = "predict_rate_per_tenant"
    scope = "tenant"

    def ident_of(self, principal: ApiKeyPrincipal) -> str:
        return str(principal.api_key.tenant_id)
