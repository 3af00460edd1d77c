from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tenants.models import Tenant
from tests.factories import PUBLIC_ADDRESS
from webhooks import network, services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: records each request, answers with the next queued status."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    body: bytes = b'{"ok": true}'


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            )
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    state = Receiver(url=f"{scheme}://127.0.0.1:{server.server_address[1]}/hooks/tunebase?source=test")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve() as state:
        yield state


TLS_HOST = "hooks.example.com"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for TLS_HOST: (certificate, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={TLS_HOST}",
            "-addext",
            f"subjectAltName=DNS:{TLS_HOST}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    """An HTTPS receiver for https://hooks.example.com:<port>/..., served on 127.0.0.1."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    with serve(tls) as state:
        state.url = state.url.replace("127.0.0.1", TLS_HOST)
        yield state


@pytest.fixture(autouse=True)
def _local_targets_allowed(settings: Any) -> None:
    # The receiver is plain http on loopback; SSRF tests turn these off themselves.
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_MAX_ATTEMPTS = 7
    settings.WEBHOOK_TIMEOUT_S = 5


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Address literals resolve to themselves, every host name to one public address: no test needs DNS."""

    def resolve(host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return [PUBLIC_ADDRESS]

    monkeypatch.setattr(network, "_resolve", resolve)


@pytest.fixture
def make_endpoint(db: None) -> Callable[..., WebhookEndpoint]:
    def make(tenant: Tenant, url: str = "https://hooks.example.com/in", **fields: Any) -> WebhookEndpoint:
        fields.setdefault("events", ["*"])
        return WebhookEndpoint.all_tenants.create(tenant=tenant, url=url, **fields)

    return make


@pytest.fixture
def make_delivery(db: None) -> Callable[..., WebhookDelivery]:
    def make(endpoint: WebhookEndpoint, **fields: Any) -> WebhookDelivery:
        from django.utils import timezone

        fields.setdefault("event_type", "webhook.test")
        fields.setdefault("next_attempt_at", timezone.now())
        fields.setdefault("payload", {"type": fields["event_type"], "timestamp": "2026-01-01T00:00:00Z", "data": {}})
        return WebhookDelivery.all_tenants.create(
            tenant_id=endpoint.tenant_id,
            endpoint=endpoint,
            event_id=services.new_event_id(),
            **fields,
        )

    return make
