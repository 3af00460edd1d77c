"""Error tracking with Sentry, started by the settings only when ``SENTRY_DSN`` is set.

What leaves the process is the exception, its stack (no local variables: they hold customers' texts),
the route and the request id. Never a request body, cookies, the query string, the credentials' headers
or users' identities (``send_default_pii`` off); ``before_send`` removes them again whatever an
integration attached.
"""

from __future__ import annotations

from typing import Any

_REQUEST_KEYS_DROPPED = ("data", "cookies", "query_string", "env")
_HEADERS_DROPPED = frozenset({"authorization", "cookie", "x-csrftoken", "x-api-key", "stripe-signature"})


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Strip what a request may carry of a customer's or a secret from an event before it is sent."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in _REQUEST_KEYS_DROPPED:
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() not in _HEADERS_DROPPED}
    event.pop("user", None)
    from tenants.logging import current_request_id

    request_id = current_request_id.get()
    if request_id:  # the same id as the request's log lines and its X-Request-ID
        tags = event.setdefault("tags", {})
        if isinstance(tags, dict):
            tags["request_id"] = request_id
    return event


def sentry_init(*, dsn: str, environment: str, release: str | None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
    )
