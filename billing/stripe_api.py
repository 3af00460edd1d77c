"""The one way to Stripe: a ``stripe.StripeClient`` built from the settings, or ``StripeOff``.

Stripe is off when ``STRIPE_SECRET_KEY`` is empty (the embedded default): plans, quotas and usage work
the same and nothing is sent. ``STRIPE_API_BASE`` points the client at another server (a Stripe-compatible
test server); tests hand the client a fake transport through ``use_http_client``.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

from tenants.errors import ServiceError

# Requests the library itself retries on a connection error, 409, 429 or 5xx, with Stripe's own backoff
# and the same idempotency key, before our caller sees an error.
MAX_NETWORK_RETRIES = 2

_http_client: Any = None


class StripeOff(ServiceError):
    status = 409
    code = "billing_not_configured"

    def __init__(self) -> None:
        super().__init__("Billing is not configured on this server: plans and quotas apply, nothing is charged.")


def enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def use_http_client(http_client: Any) -> None:
    """Send every request through ``http_client`` (a ``stripe.HTTPClient``), or back to the default (None)."""
    global _http_client  # one process-wide transport, swapped only by tests
    _http_client = http_client


def client() -> stripe.StripeClient:
    """A client for this server's Stripe account. Raises ``StripeOff`` when billing is not configured."""
    if not enabled():
        raise StripeOff()
    options: dict[str, Any] = {"max_network_retries": MAX_NETWORK_RETRIES}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    if _http_client is not None:
        options["http_client"] = _http_client
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)
