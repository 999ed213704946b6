"""What any JSON body may hold, checked once for every route before its own validation.

Python's ``json`` reads ``NaN``, ``1e400`` (infinity), integers of any size and ``"\\ud800"``
(a lone surrogate, which no UTF-8 encoder accepts); each of them used to travel until a column,
a hash or the provider's encoder failed with a 500. Here they are a 400 in the route family's
error shape. Field-level bounds (a TTL, a threshold) stay with each route's models.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request

from vectorcache.bounds import MAX_INT64
from vectorcache.errors import ValidationFailed

__all__ = ["check_json_value", "json_body_guard"]

_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _where(path: list[str]) -> str | None:
    return ".".join(path) or None


def check_json_value(value: Any) -> None:
    """Raise ``ValidationFailed`` for the first non-finite number, integer outside 64 bits or
    string with a lone surrogate in ``value`` (walked without recursion: any depth)."""
    stack: list[tuple[Any, list[str]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValidationFailed(
                        "Invalid JSON format: strings must be valid Unicode (a lone surrogate "
                        "escape such as \\ud800 is not)", param=_where(path)) from None
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT64 - 1 <= item <= MAX_INT64:
                raise ValidationFailed(
                    f"Invalid value for {_where(path) or 'body'}: integers must fit in 64 bits",
                    param=_where(path))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValidationFailed(
                    f"Invalid value for {_where(path) or 'body'}: numbers must be finite "
                    "(no NaN or Infinity)", param=_where(path))
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, path))
                stack.append((child, [*path, str(key)]))
        elif isinstance(item, list):
            stack.extend((child, [*path, str(i)]) for i, child in enumerate(item))


async def json_body_guard(request: Request) -> None:
    """An app-wide dependency: the JSON body, already parsed (and cached) by FastAPI for the
    routes that take one, checked with ``check_json_value``."""
    if request.method not in _BODY_METHODS:
        return
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type.lower():
        return
    if not await request.body():
        return
    try:
        body = await request.json()
    except ValueError:  # a route without a body; FastAPI itself answers bad JSON elsewhere
        return
    check_json_value(body)
