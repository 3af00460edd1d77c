"""The API's one error shape: ``{"error": {"code", "message", "details": [...]}}``."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.errors import ServiceError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or [], **extra}}


def _flatten(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """DRF's nested validation errors as a flat list naming each field (``texts.3``, ``non_field``)."""
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = "non_field" if key in ("non_field_errors", "__all__") else str(key)
            out += _flatten(value, f"{path}.{name}" if path else name)
        return out
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [
                {"field": path or None, "message": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        out = []
        for index, item in enumerate(detail):
            if item:
                out += _flatten(item, f"{path}.{index}" if path else str(index))
        return out
    return [{"field": path or None, "message": str(detail), "code": getattr(detail, "code", "invalid")}]


_CODES = {
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
}


class RequestTooLarge(ServiceError):
    status = 413
    code = "too_large"


def _request_limit_error(exc: Exception) -> ServiceError | None:
    """Django's refusals of a request over its size and count limits, as the API's errors naming the limit."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            f"The request is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes, the most a JSON body "
            "or a form's fields may be (files in a multipart upload have their own limit)."
        )
    if isinstance(exc, TooManyFieldsSent):
        return ServiceError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields (form fields and "
            "query parameters), the most the API reads.",
            code="too_many_fields",
        )
    if isinstance(exc, TooManyFilesSent):
        return ServiceError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files, the most the API reads.",
            code="too_many_files",
        )
    return None


class ServiceUnavailable(ServiceError):
    """A service behind the API cannot answer for a moment: 503 with ``Retry-After``; nothing was done."""

    status = 503
    code = "unavailable"


UNAVAILABLE_RETRY_AFTER_S = 5


def _storage_unreachable(exc: Exception) -> bool:
    try:
        from botocore.exceptions import ConnectionError as StorageConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency (django-storages[s3])
        return False
    return isinstance(exc, StorageConnectionError | HTTPClientError)


def unavailable_error(exc: BaseException | None) -> ServiceUnavailable | None:
    """The database (down, restarting, its connection lost) or the S3 storage (unreachable) failing a request,
    as a 503 the client may retry, instead of a 500."""
    if isinstance(exc, OperationalError | InterfaceError):
        return ServiceUnavailable(
            "The database cannot be reached for a moment. Retry shortly.",
            code="database_unavailable",
        )
    if isinstance(exc, Exception) and _storage_unreachable(exc):
        return ServiceUnavailable(
            "File storage cannot be reached for a moment. Retry shortly.",
            code="storage_unavailable",
        )
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    unavailable = unavailable_error(exc)
    if unavailable is not None:
        logger.warning("answered 503 %s: %s: %s", unavailable.code, type(exc).__name__, exc)
    exc = _request_limit_error(exc) or unavailable or exc
    if isinstance(exc, ServiceError):
        details = exc.details or ([{"field": exc.field, "message": exc.message, "code": exc.code}] if exc.field else [])
        answer = Response(error_body(exc.code, exc.message, details, **exc.extra), status=exc.status)
        if isinstance(exc, ServiceUnavailable):
            answer["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
        return answer
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        message = "Invalid input: " + "; ".join(
            f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details[:5]
        )
        response.data = error_body("invalid", message, details)
    else:
        code = _CODES.get(response.status_code, exc.get_codes() if isinstance(exc.get_codes(), str) else "error")
        if isinstance(exc, exceptions.AuthenticationFailed):
            code = "authentication_failed"
        response.data = error_body(str(code), str(exc.detail))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception: one raised before the API's own handler (a middleware's
    # first database query, say) that is an outage answers 503 like the API's.
    unavailable = unavailable_error(sys.exception())
    if unavailable is not None:
        response = JsonResponse(error_body(unavailable.code, unavailable.message), status=unavailable.status)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
        return response
    error_id = uuid.uuid4().hex[:12]
    logger.error("unhandled API error id=%s path=%s", error_id, request.path)
    return JsonResponse(
        error_body("internal_error", f"Something went wrong on our side. Quote error id {error_id} to support."),
        status=500,
    )
