"""Prediction rate limits per API key and per tenant: fixed one-minute windows counted in the cache.

Each limit is the tenant's plan's (``billing.selectors.limit_of``), or its setting when the plan leaves it
empty; 0 means none.

The counter is ``cache.incr`` on a key per window: atomic on Redis (production), so every web process
shares one count. A refused request gets 429 with ``Retry-After`` (the seconds left in the window).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.selectors import limit_of
from tenants.authentication import ApiKeyPrincipal

WINDOW_S = 60


def minute_window_wait(ident: str, limit: int) -> float | None:
    """Count one more call of ``ident`` in this minute's window: None when it is within ``limit`` (0: no
    limit), else the seconds until the next window."""
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_S)
    key = f"ratelimit:{ident}:{window}"
    # One round trip per request once the window's counter exists; the first request creates it.
    try:
        count = cache.incr(key)
    except ValueError:  # no counter yet for this window
        count = 1 if cache.add(key, 1, timeout=WINDOW_S + 5) else cache.incr(key)
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
