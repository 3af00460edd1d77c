"""Signatures of event bodies (Standard Webhooks, v1 scheme)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from webhooks.models import SECRET_PREFIX


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The ``webhook-signature`` header value for one message (Standard Webhooks, v1 scheme)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{text}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
