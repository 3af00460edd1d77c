"""Outgoing webhooks: endpoints a tenant registers, and the signed events delivered to them.

Events follow the Standard Webhooks spec (https://www.standardwebhooks.com): a JSON body
``{"type", "timestamp", "data"}`` and the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
base64-decoded part of the endpoint's ``whsec_`` secret).

The database is the queue. ``emit_event`` writes one pending delivery per subscribed endpoint in the
caller's transaction and hands them to a worker after commit; a worker claims a delivery with a
conditional update that also leases it (two workers never send it at once; a worker that dies leaves
it due again once the lease runs out); a failed attempt is scheduled again with exponential backoff
and ``deliver_due_webhooks`` (Celery beat) hands over whatever is due. An endpoint whose deliveries
keep failing is disabled, with a reason its owner can read.

Every URL is checked where it is registered and again, with a fresh DNS answer, right before each
attempt; the connection then goes to the address that was checked, so a DNS answer that changes
between check and connect cannot point a delivery at the internal network. Redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from tenants import db
from tenants.errors import Conflict, InvalidInput, NotFound
from tenants.scoping import TenantOwnedModel

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tenants.models import Tenant

logger = logging.getLogger(__name__)

USER_AGENT = "Tunebase-Webhooks/1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
ALL_EVENTS = "*"
MAX_ENDPOINTS_PER_TENANT = 20
MAX_URL_LENGTH = 2000
EXCERPT_CHARS = 500
# Waits after the 1st, 2nd, ... failed attempt; attempts past the list wait as long as its last entry.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
RETRY_JITTER = 0.1  # up to 10% either way, so that deliveries failing together do not retry together
# Deliveries in a row that ended failed (every attempt used) before the endpoint is disabled.
DISABLE_AFTER_FAILED_DELIVERIES = 5
# How long a claimed delivery is left alone at least (longer with a long timeout); a worker that dies
# mid-send frees it after this.
CLAIM_LEASE = timedelta(minutes=2)
# A delivery handed to the broker but not claimed within this long is handed over again.
REQUEUE_AFTER = timedelta(minutes=5)
DUE_BATCH = 500


class EventType(models.TextChoices):
    DATASET_CHECKED = "dataset.checked", "Dataset checked"
    TRAINING_RUN_SUCCEEDED = "training_run.succeeded", "Training run succeeded"
    TRAINING_RUN_FAILED = "training_run.failed", "Training run failed"
    TRAINING_RUN_CANCELLED = "training_run.cancelled", "Training run cancelled"
    MODEL_DEPLOYED = "model.deployed", "Model deployed"
    BATCH_PREDICTION_SUCCEEDED = "batch_prediction.succeeded", "Batch prediction succeeded"
    BATCH_PREDICTION_FAILED = "batch_prediction.failed", "Batch prediction failed"
    MONITOR_ALERT = "monitor.alert", "Monitor alert"
    WEBHOOK_TEST = "webhook.test", "Test event"


# What an endpoint may subscribe to; the test event goes to the endpoint it is sent to, subscribed or not.
SUBSCRIBABLE_EVENTS = [e.value for e in EventType if e != EventType.WEBHOOK_TEST]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


class WebhookEndpoint(TenantOwnedModel):
    url = models.URLField(max_length=MAX_URL_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event types sent to this endpoint, or ["*"] for all.')
    secret = models.CharField(max_length=100, default=generate_secret)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries in a row that failed after every attempt; a success resets it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Webhook endpoint {self.pk}"

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


class WebhookDelivery(TenantOwnedModel):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, help_text="msg_<hex>: the webhook-id header, the same on retries.")
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(help_text="The body sent: type, timestamp, data.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When last handed to the broker.")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=EXCERPT_CHARS, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="webhook_delivery_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


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


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidInput('events must be a non-empty list of event types, or ["*"] for all.', field="events")
    unknown = sorted({e for e in events if e != ALL_EVENTS and e not in SUBSCRIBABLE_EVENTS})
    if unknown:
        raise InvalidInput(
            f"Unknown event type(s) {', '.join(unknown)}; use any of {', '.join(SUBSCRIBABLE_EVENTS)}, or *.",
            field="events",
        )
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return sorted(set(events))


# --- endpoints ----------------------------------------------------------------------------------------


def endpoint_get(*, tenant: Tenant | UUID | str, endpoint_id: UUID | str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


@transaction.atomic
def endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    events: list[str],
    description: str = "",
    created_by: User | None = None,
) -> WebhookEndpoint:
    check_url(url)
    cleaned = _clean_events(events)
    if WebhookEndpoint.objects.for_tenant(tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise Conflict(f"An organization may have at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints.")
    return WebhookEndpoint.objects.for_tenant(tenant).create(
        tenant=tenant,
        url=url.strip(),
        events=cleaned,
        description=description[:200],
        created_by=created_by,
    )


@transaction.atomic
def endpoint_update(
    *,
    tenant: Tenant,
    endpoint_id: UUID | str,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    if url is not None:
        check_url(url)
        endpoint.url = url.strip()
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = description[:200]
    if is_active is True and not endpoint.is_active:
        endpoint.is_active = True
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
    elif is_active is False and endpoint.is_active:
        endpoint.is_active = False
        endpoint.disabled_reason = "Disabled by the organization."
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, tenant: Tenant, endpoint_id: UUID | str) -> None:
    deleted, _ = WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFound("No such webhook endpoint.")


def deliveries_of(*, tenant: Tenant, endpoint_id: UUID | str) -> models.QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first (``NotFound`` for another tenant's endpoint)."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    return WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint).order_by("-created_at", "-id")


# --- events ---------------------------------------------------------------------------------------------


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _envelope(event_type: str, data: dict[str, Any], moment: datetime) -> dict[str, Any]:
    return {"type": event_type, "timestamp": _iso(moment), "data": data}


def _enqueue(pairs: Sequence[tuple[str, str]]) -> None:
    from tenants.tasks import deliver_webhook

    for tenant_id, delivery_id in pairs:
        try:
            deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
        except BrokerError:
            # Nothing is lost: the delivery is in the database and deliver_due_webhooks hands it over later.
            logger.warning("broker unavailable; webhook delivery %s left to the periodic sender", delivery_id)
            return


def _create_deliveries(
    tenant: Tenant | UUID | str, endpoints: Sequence[WebhookEndpoint], event_type: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    now = timezone.now()
    event_id = new_event_id()
    payload = _envelope(event_type, data, now)
    deliveries = WebhookDelivery.objects.for_tenant(tenant).bulk_create(
        [
            WebhookDelivery(
                tenant_id=endpoint.tenant_id,
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for endpoint in endpoints
        ]
    )
    if deliveries:
        pairs = [(str(d.tenant_id), str(d.pk)) for d in deliveries]
        transaction.on_commit(partial(_enqueue, pairs))
    return deliveries


@transaction.atomic
def emit_event(*, tenant: Tenant | UUID | str, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event_type`` for every active endpoint of the tenant subscribed to it.

    The deliveries are written in the caller's transaction and sent after it commits; if it rolls
    back, nothing is sent. ``data`` must be JSON-serializable and hold no secrets or customer texts
    the customer did not choose to receive.
    """
    if event_type not in EventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    json.dumps(data)  # fail here, in the caller, not later in a worker
    endpoints = [
        e for e in WebhookEndpoint.objects.for_tenant(tenant).filter(is_active=True) if e.subscribes_to(event_type)
    ]
    return _create_deliveries(tenant, endpoints, event_type, data)


@transaction.atomic
def send_test_event(*, tenant: Tenant, endpoint_id: UUID | str) -> WebhookDelivery:
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    if not endpoint.is_active:
        raise Conflict("The endpoint is disabled; enable it before sending it a test event.")
    data = {"message": "A test event from Tunebase.", "endpoint_id": str(endpoint.pk)}
    [delivery] = _create_deliveries(tenant, [endpoint], EventType.WEBHOOK_TEST, data)
    return delivery


# --- signing ------------------------------------------------------------------------------------------


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The ``webhook-signature`` header value for one message (Standard Webhooks, v1 scheme)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{text}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# --- delivery -------------------------------------------------------------------------------------------


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after this many failed attempts, with jitter."""
    base = RETRY_DELAYS[min(max(failed_attempts, 1), len(RETRY_DELAYS)) - 1]
    return base * (1 + random.uniform(-RETRY_JITTER, RETRY_JITTER))


def deliveries_due_for_dispatch() -> list[tuple[str, str]]:
    """(tenant_id, delivery_id) of due deliveries nobody holds, marked as handed over; for the beat task.

    Runs in a system context: it looks across tenants. A delivery handed over recently is skipped, so a
    slow queue does not fill with copies of the same delivery.
    """
    now = timezone.now()
    with db.system_context(), transaction.atomic():
        due = list(
            WebhookDelivery.all_tenants.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
            .order_by("next_attempt_at")
            .values_list("tenant_id", "pk")[:DUE_BATCH]
        )
        WebhookDelivery.all_tenants.filter(pk__in=[pk for _, pk in due]).update(enqueued_at=now)
    return [(str(tenant_id), str(pk)) for tenant_id, pk in due]


def delivery_claim(*, tenant_id: UUID | str, delivery_id: UUID | str) -> WebhookDelivery | None:
    """The delivery, leased to this worker for one attempt, if it is pending and due; else None."""
    now = timezone.now()
    lease = max(CLAIM_LEASE, timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT_S + 60))
    claimed = (
        WebhookDelivery.objects.for_tenant(tenant_id)
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .update(next_attempt_at=now + lease, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return None
    return WebhookDelivery.objects.for_tenant(tenant_id).select_related("endpoint").get(pk=delivery_id)


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


def _post(target: Target, headers: dict[str, str], body: bytes) -> Outcome:
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


def _attempt(delivery: WebhookDelivery) -> Outcome:
    try:
        target = check_url(delivery.endpoint.url)
    except UnsafeUrl as refused:
        return Outcome(None, "", f"Not sent: {refused.message}")
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.endpoint.secret, delivery.event_id, timestamp, body),
    }
    return _post(target, headers, body.encode())


def deliver(delivery: WebhookDelivery) -> str:
    """Make one attempt at a claimed delivery and record how it went. Returns the delivery's status."""
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        outcome = Outcome(None, "", "Not sent: the endpoint is disabled.")
        _record(delivery, outcome, give_up=True)
        return delivery.status
    outcome = _attempt(delivery)
    _record(delivery, outcome, give_up=delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS)
    logger.info(
        "webhook delivery %s of %s to endpoint %s: attempt %d, %s",
        delivery.pk,
        delivery.event_type,
        endpoint.pk,
        delivery.attempts,
        outcome.status_code or outcome.error,
    )
    return delivery.status


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: Outcome, *, give_up: bool) -> None:
    now = timezone.now()
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    delivery.response_excerpt = outcome.excerpt
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif give_up:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.enqueued_at = None
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "enqueued_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "delivered_at",
        ]
    )
    endpoints = WebhookEndpoint.objects.for_tenant(delivery.tenant_id).filter(pk=delivery.endpoint_id)
    if outcome.ok:
        endpoints.exclude(consecutive_failures=0).update(consecutive_failures=0)
    elif give_up and delivery.endpoint.is_active:
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        _disable_if_failing(delivery.tenant_id, delivery.endpoint_id, outcome.error)


def _disable_if_failing(tenant_id: UUID, endpoint_id: UUID, last_error: str) -> None:
    reason = (
        f"Disabled on {timezone.now():%Y-%m-%d %H:%M} UTC after {DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a "
        f"row failed; the last error was: {last_error}"
    )[:500]
    disabled = (
        WebhookEndpoint.objects.for_tenant(tenant_id)
        .filter(pk=endpoint_id, is_active=True, consecutive_failures__gte=DISABLE_AFTER_FAILED_DELIVERIES)
        .update(is_active=False, disabled_reason=reason)
    )
    if disabled:
        logger.warning("webhook endpoint %s disabled after repeated failed deliveries", endpoint_id)
        WebhookDelivery.objects.for_tenant(tenant_id).filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Not sent: the endpoint was disabled.")
