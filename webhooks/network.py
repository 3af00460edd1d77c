"""Where a delivery may go (no internal addresses: SSRF), and the POST itself, pinned to the checked address.

Every URL is checked where it is registered and again, with a fresh DNS answer, right before each
attempt; the connection then goes to the address that was checked, so a DNS answer that changes
between check and connect cannot point a delivery at the internal network. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from tenants.errors import InvalidInput
from webhooks.models import EXCERPT_CHARS, MAX_URL_LENGTH

# --- URL checks (SSRF) ------------------------------------------------------------------------------


class UnsafeUrl(InvalidInput):
    """The URL is not one deliveries may go to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection goes to


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (CGNAT), reserved and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> Target:
    """The URL's parts and the address to connect to; ``UnsafeUrl`` when deliveries may not go there."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.", field="url")
    parts = urlsplit(url.strip())
    allowed = ("http", "https") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrl("The URL must start with https://.", code="insecure_url", field="url")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host name.", field="url")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Put no user name or password in the URL; use a secret path or query instead.", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The URL's port is not a number between 1 and 65535.", field="url") from None
    try:
        addresses = _resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        raise UnsafeUrl(
            f"The host name {parts.hostname!r} could not be resolved.", code="unresolvable_url", field="url"
        ) from None
    if not addresses:
        raise UnsafeUrl(f"The host name {parts.hostname!r} has no address.", code="unresolvable_url", field="url")
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS and not all(_is_public(a) for a in addresses):
        raise UnsafeUrl(
            "The URL points to a private, loopback, link-local or multicast address; webhooks go to "
            "public internet addresses only.",
            code="private_address",
            field="url",
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the host name resolves to by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address.
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(target: Target, headers: dict[str, str], body: bytes) -> Outcome:
    timeout = float(settings.WEBHOOK_TIMEOUT_S)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(target, timeout) if target.scheme == "https" else _PinnedHTTPConnection(target, timeout)
    )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(4 * EXCERPT_CHARS).decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    except (OSError, http.client.HTTPException) as failure:
        return Outcome(None, "", _describe(failure))
    finally:
        connection.close()
    error = "" if 200 <= response.status < 300 else f"The endpoint answered HTTP {response.status}."
    return Outcome(response.status, excerpt, error)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return f"No answer within {settings.WEBHOOK_TIMEOUT_S} s."
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"[:EXCERPT_CHARS]
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused."
    return f"{type(error).__name__}: {error}"[:EXCERPT_CHARS]
