"""A fake Stripe behind the real ``stripe`` library: a ``stripe.HTTPClient`` that answers the endpoints we
call, in Stripe's response shapes, from memory. No Stripe and no stripe-mock are reachable here.

It behaves as Stripe does where our code depends on it:
- an ``Idempotency-Key`` seen before replays the first answer (for 24 hours at Stripe; forever here);
- a meter event whose ``identifier`` was taken before is refused with 400 (Stripe enforces identifiers
  for at least 24 hours), and counted once;
- ``fail(...)`` makes the next requests fail the ways a network and Stripe fail: an HTTP status (500, 429,
  ...), a timeout or a connection reset (the library's ``APIConnectionError``, retryable), or
  ``after=True``: Stripe does the work and the answer is lost on the way back.

Every request is kept in ``requests`` (method, path, flat form params, headers) for tests to assert on.
Handlers for more endpoints: ``fake.route("POST", r"/v1/things", handler)``, where ``handler(fake, request,
match)`` returns ``(status, body_dict)``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from stripe._http_client import HTTPClient

# What the ``fake_stripe`` fixture (tests/conftest.py) configures: the webhook signing secret and the
# plans' prices.
WEBHOOK_SECRET = "whsec_test_secret"
PRICES = {
    "pro": {"base": "price_pro_base", "predictions": "price_pro_predictions", "training": "price_pro_training"},
    "scale": {"base": "price_scale_base", "predictions": "price_scale_predictions", "training": "price_scale_training"},
}


def stripe_signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header by Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


Handler = Callable[["FakeStripe", Request, re.Match[str]], tuple[int, dict[str, Any]]]


@dataclass
class _Failure:
    kind: int | str  # an HTTP status, "timeout" or "reset"
    after: bool  # the work is done at Stripe, then the answer is lost


class FakeStripe(HTTPClient):
    name = "fake-stripe"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.meter_events: dict[str, dict[str, Any]] = {}  # by identifier
        self.meters: list[dict[str, Any]] = [
            {"id": "mtr_predictions", "object": "billing.meter", "event_name": "tunebase_predictions"},
            {"id": "mtr_training", "object": "billing.meter", "event_name": "tunebase_training_seconds"},
        ]
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.invoices: list[dict[str, Any]] = []
        self.balance_transactions: list[dict[str, Any]] = []
        self.cancelled_subscriptions: list[str] = []
        self._replies: dict[str, tuple[int, str]] = {}  # by idempotency key
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.route("POST", r"/v1/billing/meter_events", _meter_event_create)
        self.route("GET", r"/v1/billing/meters", _meters_list)
        self.route("GET", r"/v1/billing/meters/(?P<meter>[^/]+)/event_summaries", _event_summaries)
        self.route("POST", r"/v1/customers", _customer_create)
        self.route("GET", r"/v1/customers/(?P<id>[^/]+)", _customer_retrieve)
        self.route("POST", r"/v1/customers/(?P<id>[^/]+)/balance_transactions", _balance_transaction_create)
        self.route("POST", r"/v1/checkout/sessions", _checkout_session_create)
        self.route("POST", r"/v1/billing_portal/sessions", _portal_session_create)
        self.route("GET", r"/v1/invoices", _invoices_list)
        self.route("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", _subscription_cancel)

    # --- for tests ---------------------------------------------------------------------------------
    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` (a regular expression matched in full) with ``handler``; newer routes win."""
        self._routes.insert(0, (method, re.compile(path), handler))

    def fail(self, *kinds: int | str, after: bool = False) -> None:
        """The next ``len(kinds)`` requests fail, one way each: an HTTP status, "timeout" or "reset"."""
        self._failures += [_Failure(kind, after) for kind in kinds]

    def add_customer(self, customer_id: str | None = None) -> str:
        """A customer Stripe knows (as if created by a Checkout); returns its id."""
        customer_id = customer_id or self.new_id("cus")
        self.customers[customer_id] = {"id": customer_id, "object": "customer", "balance": 0, "metadata": {}}
        return customer_id

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def calls(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def metered(self, event_name: str, customer: str | None = None) -> int:
        """The total value Stripe holds for a meter (and customer): each identifier once."""
        return sum(
            int(e["payload"]["value"])
            for e in self.meter_events.values()
            if e["event_name"] == event_name and (customer is None or e["payload"]["stripe_customer_id"] == customer)
        )

    # --- stripe.HTTPClient -------------------------------------------------------------------------
    def _sleep_time_seconds(self, num_retries: int, response: Any = None) -> float:
        return 0.0  # the library's backoff between retries, without the wait

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        request = Request(
            method=method.upper(),
            path=parts.path,
            params=dict(parse_qsl(body, keep_blank_values=True)),
            headers=dict(headers or {}),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        )
        self.requests.append(request)
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure.after:
            return self._failed(failure)
        key = request.idempotency_key if request.method == "POST" else None
        if key is not None and key in self._replies:
            status, text = self._replies[key]
            return text, status, {"idempotent-replayed": "true", "request-id": self.new_id("req")}
        status, reply = self._dispatch(request)
        text = json.dumps(reply)
        if key is not None and status < 500:
            self._replies[key] = (status, text)
        if failure is not None:
            return self._failed(failure)
        return text, status, {"request-id": self.new_id("req")}

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _failed(self, failure: _Failure) -> tuple[str, int, Mapping[str, str]]:
        if failure.kind == "timeout":
            raise stripe.APIConnectionError("Request to Stripe timed out (fake)", should_retry=True)
        if failure.kind == "reset":
            raise stripe.APIConnectionError("Connection reset by peer (fake)", should_retry=True)
        assert isinstance(failure.kind, int)
        headers = {"retry-after": "1"} if failure.kind == 429 else {}
        return json.dumps(_error("api_error", f"Fake failure {failure.kind}.")), failure.kind, headers

    def _dispatch(self, request: Request) -> tuple[int, dict[str, Any]]:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                return handler(self, request, match)
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path}).")


def _error(kind: str, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def _nested(params: dict[str, str], prefix: str) -> dict[str, str]:
    """``payload[value]=3`` -> ``{"value": "3"}`` for ``prefix="payload"``."""
    return {k[len(prefix) + 1 : -1]: v for k, v in params.items() if k.startswith(f"{prefix}[") and k.endswith("]")}


def _meter_event_create(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    params = request.params
    payload = _nested(params, "payload")
    for needed in ("event_name",):
        if not params.get(needed):
            return 400, _error("invalid_request_error", f"Missing required param: {needed}.", param=needed)
    if "stripe_customer_id" not in payload or "value" not in payload:
        return 400, _error("invalid_request_error", "payload needs stripe_customer_id and value.", param="payload")
    if payload["stripe_customer_id"] not in fake.customers:
        return 400, _error("invalid_request_error", f"No such customer: '{payload['stripe_customer_id']}'")
    identifier = params.get("identifier") or fake.new_id("mev")
    if identifier in fake.meter_events:
        return 400, _error(
            "invalid_request_error",
            f"An event already exists with identifier {identifier}.",
            code="resource_already_exists",
            param="identifier",
        )
    event = {
        "object": "billing.meter_event",
        "created": int(time.time()),
        "event_name": params["event_name"],
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": int(params.get("timestamp") or time.time()),
    }
    fake.meter_events[identifier] = event
    return 200, event


def _meters_list(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    return 200, {"object": "list", "url": "/v1/billing/meters", "has_more": False, "data": fake.meters}


def _event_summaries(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    """Stripe's per-day (``value_grouping_window=day``) or whole-range sums of a customer's meter events."""
    query = request.query
    meter = next((m for m in fake.meters if m["id"] == match["meter"]), None)
    if meter is None:
        return 404, _error("invalid_request_error", f"No such billing meter: '{match['meter']}'")
    start, end = int(query["start_time"]), int(query["end_time"])
    by_day = query.get("value_grouping_window") == "day"
    sums: dict[int, float] = {}
    for event in fake.meter_events.values():
        if event["event_name"] != meter["event_name"]:
            continue
        if event["payload"]["stripe_customer_id"] != query.get("customer"):
            continue
        if not start <= event["timestamp"] < end:
            continue
        bucket = start + (event["timestamp"] - start) // 86400 * 86400 if by_day else start
        sums[bucket] = sums.get(bucket, 0) + float(event["payload"]["value"])
    data = [
        {
            "id": fake.new_id("mtrusg"),
            "object": "billing.meter_event_summary",
            "aggregated_value": value,
            "start_time": bucket,
            "end_time": bucket + 86400 if by_day else end,
            "livemode": False,
            "meter": meter["id"],
        }
        for bucket, value in sorted(sums.items())
    ]
    return 200, {"object": "list", "url": request.path, "has_more": False, "data": data}


def _customer_create(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    customer = {
        "id": fake.new_id("cus"),
        "object": "customer",
        "email": request.params.get("email"),
        "name": request.params.get("name"),
        "metadata": _nested(request.params, "metadata"),
        "balance": 0,
    }
    fake.customers[customer["id"]] = customer
    return 200, customer


def _customer_retrieve(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    customer = fake.customers.get(match["id"])
    if customer is None:
        return 404, _error("invalid_request_error", f"No such customer: '{match['id']}'", code="resource_missing")
    return 200, customer


def _balance_transaction_create(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    customer = fake.customers.get(match["id"])
    if customer is None:
        return 404, _error("invalid_request_error", f"No such customer: '{match['id']}'", code="resource_missing")
    amount = int(request.params["amount"])
    customer["balance"] += amount
    transaction = {
        "id": fake.new_id("cbtxn"),
        "object": "customer_balance_transaction",
        "amount": amount,
        "currency": request.params.get("currency", "usd"),
        "customer": customer["id"],
        "description": request.params.get("description"),
        "ending_balance": customer["balance"],
    }
    fake.balance_transactions.append(transaction)
    return 200, transaction


def _checkout_session_create(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    params = request.params
    session_id = fake.new_id("cs_test")
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": params.get("mode"),
        "customer": params.get("customer"),
        "client_reference_id": params.get("client_reference_id"),
        "metadata": _nested(params, "metadata"),
        "success_url": params.get("success_url"),
        "cancel_url": params.get("cancel_url"),
        "status": "open",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        "line_items_params": {k: v for k, v in params.items() if k.startswith("line_items[")},
    }
    fake.checkout_sessions[session_id] = session
    return 200, session


def _portal_session_create(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    session_id = fake.new_id("bps")
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "customer": request.params.get("customer"),
        "return_url": request.params.get("return_url"),
        "url": f"https://billing.stripe.com/p/session/{session_id}",
    }
    fake.portal_sessions[session_id] = session
    return 200, session


def _invoices_list(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    customer = request.query.get("customer")
    data = [i for i in fake.invoices if customer is None or i.get("customer") == customer]
    return 200, {"object": "list", "url": "/v1/invoices", "has_more": False, "data": data}


def _subscription_cancel(fake: FakeStripe, request: Request, match: re.Match[str]) -> tuple[int, dict[str, Any]]:
    fake.cancelled_subscriptions.append(match["id"])
    return 200, {"id": match["id"], "object": "subscription", "status": "canceled"}
