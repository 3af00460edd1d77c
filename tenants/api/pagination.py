"""The API's pages: ``?limit=`` and ``?offset=``, 50 rows by default, at most ``MAX_LIMIT``."""

from __future__ import annotations

from rest_framework import pagination

MAX_LIMIT = 200


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pages; a ``limit`` above ``MAX_LIMIT`` is served as ``MAX_LIMIT`` (the page's
    ``next`` link carries on from there)."""

    max_limit = MAX_LIMIT
