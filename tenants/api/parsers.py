"""The API's JSON parser: DRF's, refusing bodies nested deeper than ``MAX_DEPTH`` with a 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import parsers

from tenants.errors import ServiceError

MAX_DEPTH = 32


class TooDeep(ServiceError):
    status = 400
    code = "too_deep"


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON has lists or objects more than ``limit`` levels deep (the outermost is level 1).
    Iterative, so any depth is measured without recursion; only containers are visited."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (a subclass, so DRF still reads the body through ``DATA_UPLOAD_MAX_MEMORY_SIZE``),
    answering 400 ``too_deep`` for a body nested more than ``MAX_DEPTH`` levels instead of failing on
    the decoder's recursion."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than the decoder's stack allows: far past the limit
            data, too_deep = None, True
        else:
            too_deep = nested_deeper_than(data, MAX_DEPTH)
        if too_deep:
            raise TooDeep(f"The JSON body is nested more than {MAX_DEPTH} levels deep, the most the API reads.")
        return data
