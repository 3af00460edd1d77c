"""A receiver that answers a byte at a time cannot hold a worker past the total send time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from webhooks.models import WebhookDelivery
from webhooks.services import delivery_claim
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db

CAP_S = 1.5
MARGIN_S = 1.0
DRIP_S = 0.3  # well inside any one read's timeout: only a total deadline stops it


@contextmanager
def trickling(first: bytes, drip: bytes, *, for_s: float = 6.0) -> Iterator[tuple[str, list[float]]]:
    """A server on 127.0.0.1 that reads the request, sends ``first``, then ``drip`` every DRIP_S seconds
    for ``for_s`` seconds. Yields its URL and, per connection, how long the client stayed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()
    stays: list[float] = []

    def handle(conn: socket.socket) -> None:
        started = time.monotonic()
        with conn:
            conn.recv(65536)
            conn.settimeout(DRIP_S)
            try:
                conn.sendall(first)
                while not stop.is_set() and time.monotonic() - started < for_s:
                    try:
                        if not conn.recv(1):
                            break  # the client hung up
                    except TimeoutError:
                        conn.sendall(drip)
            except OSError:
                pass  # the client hung up
        stays.append(time.monotonic() - started)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/in", stays
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


SLOW_ANSWERS = [
    pytest.param(b"HTTP/1.1 200 OK\r\n", b"X-Slow: 1\r\n", id="a-header-at-a-time"),
    pytest.param(b"HTTP/1.1 2", b"0", id="a-status-line-byte-at-a-time"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x", id="a-body-byte-at-a-time"),
    pytest.param(b"", b"", id="silence"),
]


@pytest.mark.parametrize(("first", "drip"), SLOW_ANSWERS)
def test_a_send_gives_up_at_the_total_timeout(tenant, make_endpoint, make_delivery, settings, first, drip):
    settings.WEBHOOK_TIMEOUT_S = CAP_S
    with trickling(first, drip) as (url, stays):
        delivery = make_delivery(make_endpoint(tenant, url=url))

        started = time.monotonic()
        status = deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(delivery.pk))
        took = time.monotonic() - started
        while not stays and time.monotonic() - started < CAP_S + MARGIN_S:
            time.sleep(0.05)

    assert took < CAP_S + MARGIN_S
    assert status == "pending"
    failed = WebhookDelivery.all_tenants.get(pk=delivery.pk)
    assert failed.last_error == f"No complete answer within {CAP_S} s; the attempt was cut off."
    assert failed.next_attempt_at > timezone.now()  # retried later, as any failure
    assert stays and stays[0] < CAP_S + MARGIN_S  # the connection was closed, not left open


def test_a_fast_answer_after_a_slow_one_still_succeeds(tenant, make_endpoint, make_delivery, receiver, settings):
    settings.WEBHOOK_TIMEOUT_S = CAP_S
    delivery = make_delivery(make_endpoint(tenant, url=receiver.url))

    assert deliver_webhook(tenant_id=str(tenant.pk), delivery_id=str(delivery.pk)) == "succeeded"


@pytest.mark.parametrize("cap_s", [1.5, 10, 300, 900])
def test_a_send_that_takes_the_whole_cap_is_not_claimed_twice(
    tenant, make_endpoint, make_delivery, settings, cap_s: float
):
    settings.WEBHOOK_TIMEOUT_S = cap_s
    delivery = make_delivery(make_endpoint(tenant))
    claimed_at = timezone.now()
    assert delivery_claim(tenant_id=tenant.pk, delivery_id=delivery.pk) is not None

    # Another worker gets the same message (a redelivery) just as the first one's send ends at the cap.
    with time_machine.travel(claimed_at + timedelta(seconds=cap_s + 5)):
        assert delivery_claim(tenant_id=tenant.pk, delivery_id=delivery.pk) is None

    assert WebhookDelivery.all_tenants.get(pk=delivery.pk).attempts == 1
