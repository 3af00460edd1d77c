"""Errors that services raise; the API turns them into the JSON error shape, the dashboard into messages.

Each carries a stable machine ``code`` and a message a customer can act on. ``field`` names the
input that was wrong, when there is one.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}  # more members of the API's error object (a quota's numbers, a link)
        if code:
            self.code = code
        self.field = field
        self.details = details


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    """Missing, or owned by another tenant: the two are indistinguishable on purpose."""

    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "permission_denied"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
