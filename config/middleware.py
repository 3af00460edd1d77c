"""Request and response middleware of the deployment: the client's address behind proxies, and the
Permissions-Policy header."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PROXY_ADDR_META = "TUNEBASE_PROXY_ADDR"


def forwarded_client_ip(forwarded_for: str, trusted_proxies: int) -> str | None:
    """The address the outermost of ``trusted_proxies`` proxies saw, from an ``X-Forwarded-For`` value.

    Each proxy appends the address it received the request from, so the Nth entry from the right was
    written by the outermost trusted one; entries to its left came from the client and prove nothing.
    None when there are too few entries or that entry is not an IP address.
    """
    if trusted_proxies < 1:
        return None
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    if len(hops) < trusted_proxies:
        return None
    try:
        return str(ipaddress.ip_address(hops[-trusted_proxies]))
    except ValueError:
        return None


class ClientIpMiddleware:
    """Puts the client's address in ``REMOTE_ADDR`` when ``TRUSTED_PROXY_COUNT`` proxies stand in front.

    Everything that reads the client's address (the audit log, allauth's per-IP rate limits, DRF's
    throttles) then reads the real one; the proxy's own address is kept in ``TUNEBASE_PROXY_ADDR``.
    With no trusted proxy (the default) ``X-Forwarded-For`` is ignored: any client can write it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR")
        if forwarded_for:
            client = forwarded_client_ip(forwarded_for, settings.TRUSTED_PROXY_COUNT)
            if client is not None:
                request.META[PROXY_ADDR_META] = request.META.get("REMOTE_ADDR")
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy`` (from the ``PERMISSIONS_POLICY`` setting) to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
