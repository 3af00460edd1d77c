"""OpenAPI description of the API's authentication, for drf-spectacular (imported by the app's ready())."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from tenants.authentication import KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        # OpenAPI's apiKey scheme sends the header value as typed, so the keyword is part of it.
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"`{KEYWORD} <key>`: the key as shown once when it was created in the dashboard.",
        }


# --- the errors every operation may answer -----------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The API's one error shape (tenants/api/errors.py).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine code, e.g. `invalid`, `not_found`."},
                "message": {"type": "string", "description": "What went wrong, in words a person can act on."},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string", "nullable": True},
                            "message": {"type": "string"},
                            "code": {"type": "string"},
                        },
                        "required": ["field", "message", "code"],
                    },
                },
            },
            # Some errors add members: a quota's numbers, a retry time, a link.
            "additionalProperties": True,
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: a field, a query parameter or the body (`details` names each).",
    "401": "No API key, or one that is unknown, revoked or expired.",
    "402": "The organization's plan or spend cap does not cover this (quota exceeded, subscription lapsed).",
    "403": "The key lacks the scope this operation needs, or is limited to another project.",
    "404": "No such object in this organization (another organization's objects are not found either).",
    "409": "The object is not in a state that allows this now.",
    "413": "The body, a file or a text is larger than the API accepts.",
    "415": "The body's content type is not one this operation reads.",
    "429": "Too many requests for this key or organization; retry after the `Retry-After` header's seconds.",
    "503": (
        "A service behind the API cannot be reached for a moment (`database_unavailable`, `storage_unavailable`; "
        "predict and monitor events also `overloaded`); retry after the `Retry-After` header's seconds."
    ),
}

# Operations that spend a metered quota or a plan's allowance (402).
QUOTA_OPERATIONS = {
    ("post", "/api/v1/projects/"),  # the plan's number of projects
    ("post", "/api/v1/projects/{project_pk}/predict/"),
    ("post", "/api/v1/projects/{project_pk}/batch-predictions/"),
    ("post", "/api/v1/projects/{project_pk}/training-runs/"),
    ("post", "/api/v1/monitors/{id}/events/"),
}
# Reads that answer 409 while their object is not ready (a batch's results before it has finished; a model
# version whose files or base model are gone).
CONFLICT_READS = {("get", "/api/v1/batch-predictions/{id}/results/"), ("get", "/api/v1/models/{id}/download/")}
_METHODS = {"get", "post", "put", "patch", "delete"}


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation may answer, from what every API view shares: key, scope, rate limit
    and the error handler for all; not found for all (an object in the path or named in the body); a
    database (every operation) or storage out of reach; body limits where there is a body; conflicts on
    writes; quotas where serving or training runs."""
    statuses = ["400", "401", "403", "404", "429", "503"]
    if "requestBody" in operation:
        statuses += ["413", "415"]
    if method != "get" or (method, path) in CONFLICT_READS:
        statuses.append("409")
    if (method, path) in QUOTA_OPERATIONS:
        statuses.append("402")
    return sorted(statuses)


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the ``Error`` component, and each operation's error responses
    pointing at it (a view's own declaration of a status wins)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, path, operation):
                responses.setdefault(
                    status,
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result
