"""Where a delivery may go (no internal addresses: SSRF), and the POST itself, pinned to the checked address.

Every URL is checked where it is registered and again, with a fresh DNS answer, right before each
attempt; the connection then goes to the address that was checked, so a DNS answer that changes
between check and connect cannot point a delivery at the internal network. Redirects are not followed.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

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


# IPv6 ranges whose last 32 bits are an IPv4 address a gateway or the host's stack may connect to.
_CARRY_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, the well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated; :: and ::1 are in it too)
)
# NAT64 prefixes of the local network: whatever they carry is translated by an internal gateway.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        if ip.sixtofour is not None:  # 2002::/16 (6to4)
            ip = ip.sixtofour
        elif any(ip in network for network in _CARRY_IPV4):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # is_global is False for private, loopback, link-local, shared (CGNAT), reserved and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def _port_of(parts: SplitResult) -> int:
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The URL's port is not a number between 1 and 65535.", field="url") from None
    allowed = settings.WEBHOOK_ALLOWED_PORTS
    if allowed and port not in allowed:
        raise UnsafeUrl(
            f"Webhooks may not use port {port}; use one of: {', '.join(map(str, allowed))}.",
            code="port_not_allowed",
            field="url",
        )
    return port


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
    port = _port_of(parts)
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


class _Deadline:
    """The end of one attempt: each socket it watches is shut down then, whatever it is waiting for.

    A per-read timeout alone lets a receiver that sends a byte now and then hold a worker for ever.
    """

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.passed = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self._at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's time is up")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            passed = self.passed
        if passed:
            self._shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        # The plain socket's shutdown, also under TLS: a blocked read then ends at once.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect(address: str, port: int, deadline: _Deadline) -> socket.socket:
    sock = socket.create_connection((address, port), deadline.remaining())
    deadline.watch(sock)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the host name resolves to by now."""

    def __init__(self, target: Target, deadline: _Deadline) -> None:
        super().__init__(target.host, target.port, timeout=deadline.remaining())
        self._address = target.address
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, deadline: _Deadline) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=deadline.remaining(), context=self._tls)
        self._address = target.address
        self._deadline = deadline

    def connect(self) -> None:
        raw = _connect(self._address, self.port, self._deadline)
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
    """One POST, all of it (connect, TLS, send, status, headers, the start of the body) within
    ``WEBHOOK_TIMEOUT_S``."""
    deadline = _Deadline(float(settings.WEBHOOK_TIMEOUT_S))
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(target, deadline)
        if target.scheme == "https"
        else _PinnedHTTPConnection(target, deadline)
    )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(4 * EXCERPT_CHARS).decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        if deadline.passed:  # the read ended because the connection was cut, not because the body did
            raise TimeoutError("the attempt's time is up")
    except (OSError, http.client.HTTPException) as failure:
        return Outcome(None, "", _describe(deadline.passed or isinstance(failure, TimeoutError), failure))
    finally:
        deadline.cancel()
        connection.close()
    error = "" if 200 <= response.status < 300 else f"The endpoint answered HTTP {response.status}."
    return Outcome(response.status, excerpt, error)


def _describe(timed_out: bool, error: BaseException) -> str:
    if timed_out:
        return f"No complete answer within {settings.WEBHOOK_TIMEOUT_S} s; the attempt was cut off."
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"[:EXCERPT_CHARS]
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused."
    return f"{type(error).__name__}: {error}"[:EXCERPT_CHARS]
