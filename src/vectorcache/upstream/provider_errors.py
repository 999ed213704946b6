"""A provider's HTTP failure, as the error the client is answered with.

* 4xx that are the request's own fault (400 context too long, 404 unknown model, 413, 422):
  passed on with the provider's status, message and code (``ProviderRejected``), in the route
  family's shape (``api/errors.py``).
* 429: a 429 with the provider's ``Retry-After`` (seconds or an HTTP date), else a default
  (``ProviderRateLimited``).
* 401/403 (our provider key is wrong), other 4xx, 5xx: a 502 (``UpstreamError``): nothing the
  client can fix by changing its request.

Nothing key-like in the provider's message is ever echoed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from vectorcache.clock import utcnow
from vectorcache.errors import ProviderRateLimited, ProviderRejected, UpstreamError

__all__ = ["DEFAULT_RETRY_AFTER_S", "PASSED_THROUGH", "provider_error", "retry_after_seconds"]

#: the provider's 4xx that are the request's fault, passed on with their status
PASSED_THROUGH = frozenset({400, 404, 409, 413, 415, 422})
#: when a provider's 429 says nothing of when to come back
DEFAULT_RETRY_AFTER_S = 5
_MAX_RETRY_AFTER_S = 3600
_SECRETISH = re.compile(r"(sk-[\w*-]+|vc_[0-9a-f]+|Bearer\s+\S+)", re.IGNORECASE)
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def retry_after_seconds(headers: Mapping[str, str] | None) -> int:
    """The provider's ``Retry-After`` (delta seconds or an HTTP date), bounded; or a default."""
    raw = (headers or {}).get("retry-after", "").strip()
    seconds: float | None = None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw).astimezone(UTC) - utcnow()).total_seconds()
        except (TypeError, ValueError, IndexError):
            seconds = None
    if seconds is None or not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER_S
    return int(min(_MAX_RETRY_AFTER_S, max(1, math.ceil(seconds))))


def _error_fields(body: bytes) -> tuple[str, str | None, str | None]:
    """The provider's message, code and param (OpenAI's and Anthropic's ``error`` object)."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return "", None, None
    if not isinstance(error, dict):
        return "", None, None
    message = _SECRETISH.sub("[redacted]", str(error.get("message") or ""))[:300]
    code = error.get("code")
    param = error.get("param")
    return (message, code if isinstance(code, str) and _CODE.fullmatch(code) else None,
            param if isinstance(param, str) and len(param) <= 100 else None)


def _unbilled(error: UpstreamError) -> UpstreamError:
    error.may_have_billed = False  # the provider answered with an error status
    return error


def provider_error(status: int, body: bytes,
                   headers: Mapping[str, str] | None = None) -> UpstreamError:
    if status in (401, 403):
        return _unbilled(UpstreamError("LLM provider error: Invalid API key",
                                       code="upstream_auth_error"))
    if status == 429:
        return ProviderRateLimited("LLM provider error: Rate limited by the provider",
                                   retry_after=retry_after_seconds(headers))
    if status >= 500:
        return _unbilled(UpstreamError(f"LLM provider error: Provider returned HTTP {status}"))
    message, code, param = _error_fields(body)
    detail = f"LLM provider error: {message or f'HTTP {status}'}"
    if status in PASSED_THROUGH:
        return ProviderRejected(detail, status=status, code=code, param=param)
    return _unbilled(UpstreamError(detail, code="upstream_bad_request"))
