"""The API's pages: ``?limit=`` and ``?offset=``, 50 rows by default, at most ``MAX_LIMIT``."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_LIMIT = 200


def _query_int(request: Request, name: str, minimum: int) -> int | None:
    """The query parameter ``name`` as a whole number of at least ``minimum``; None when absent. A value
    that is not one is a 400 naming the parameter, not silently the first page."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValidationError({name: [f"A whole number of at least {minimum}."]}, code="invalid")
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pages; a ``limit`` above ``MAX_LIMIT`` is served as ``MAX_LIMIT`` (the page's
    ``next`` link carries on from there). A ``limit`` below 1, or an ``offset`` below 0 or not a number,
    is refused with a 400."""

    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int | None:
        limit = _query_int(request, self.limit_query_param, 1)
        if limit is None:
            return self.default_limit
        return min(limit, self.max_limit) if self.max_limit else limit

    def get_offset(self, request: Request) -> int:
        return _query_int(request, self.offset_query_param, 0) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"]["minimum"] = 0
        return parameters
