"""What the sync and async clients share: configuration, request building, response parsing,
and the retry policy, written once as a generator the transport shells drive (sans-I/O).

The generator yields an ``httpx.Request`` to send (the shell sends back the response, or
throws the transport error in) or a ``float`` of seconds to sleep; its return value is the
parsed result.
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from vectorcache.client._errors import (
    APIConnectionError,
    ConfigurationError,
    TimeoutError,
    VectorcacheError,
    error_for_status,
)

__all__ = ["DEFAULT_BASE_URL", "RETRY_STATUSES", "BaseClient", "Call", "Step"]

T = TypeVar("T")
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_DELAY = 60.0
Step = Generator["httpx.Request | float", "httpx.Response | None", T]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: where it goes, what it sends, and how its answer is parsed."""

    method: str
    path: str
    parse: Callable[[Any], T]
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    #: the call may reach the LLM provider (and be billed): retried only with a key
    reaches_provider: bool = False
    #: sent as ``Idempotency-Key``, the same on every attempt: the server answers a retry
    #: with the first attempt's response instead of asking the provider again
    idempotency_key: str | None = None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500] or f"HTTP {response.status_code}"}


def compact(**fields: Any) -> dict[str, Any]:
    """The fields that were given (``None`` means not given)."""
    return {k: v for k, v in fields.items() if v is not None}


class BaseClient:
    def __init__(self, *, api_key: str | None = None, base_url: str | None = None,
                 project_id: str | None = None, timeout: float = 60.0, max_retries: int = 2,
                 retry_backoff: float = 0.5, allow_insecure_http: bool = False) -> None:
        api_key = api_key or os.environ.get("VECTORCACHE_API_KEY")
        if not api_key:
            raise ConfigurationError("No API key: pass api_key=... or set VECTORCACHE_API_KEY.")
        base = (base_url or os.environ.get("VECTORCACHE_BASE_URL") or DEFAULT_BASE_URL)
        url = httpx.URL(base.rstrip("/").removesuffix("/v1"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(f"base_url must be an http(s) URL, got {base!r}")
        if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure_http:
            raise ConfigurationError(
                f"Refusing to send an API key over plain http to {url.host}: use https, or "
                "pass allow_insecure_http=True if this network is trusted.")
        if max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        self.api_key = api_key
        self.base_url = str(url)
        self.project_id = project_id or os.environ.get("VECTORCACHE_PROJECT_ID")
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _project(self, project_id: str | None) -> str:
        project = project_id or self.project_id
        if not project:
            raise ConfigurationError("No project: pass project_id=... here or to the client, "
                                     "or set VECTORCACHE_PROJECT_ID.")
        return project

    def _request(self, call: Call[Any]) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json",
                   "User-Agent": "vectorcache-python"}
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        return httpx.Request(call.method, self.base_url + call.path, json=call.json,
                             params=call.params, headers=headers)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; at least what ``Retry-After`` asked for."""
        ceiling = min(MAX_RETRY_DELAY, self.retry_backoff * 2 ** attempt)
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret
        return float(min(MAX_RETRY_DELAY, max(delay, retry_after or 0.0)))

    def _exchange(self, call: Call[T]) -> Step[T]:
        attempt = 0
        while True:
            retry_after: float | None = None
            failure: VectorcacheError
            try:
                response = yield self._request(call)
            except httpx.TimeoutException as exc:
                failure = TimeoutError(f"Request timed out: {type(exc).__name__}")
            except httpx.TransportError as exc:
                failure = APIConnectionError(f"Could not reach {self.base_url}: "
                                             f"{type(exc).__name__}")
            else:
                assert response is not None
                if response.status_code < 400:
                    return call.parse(_body(response))
                retry_after = _retry_after(response)
                failure = error_for_status(response.status_code, _body(response), retry_after)
                if response.status_code not in RETRY_STATUSES:
                    raise failure
            if attempt >= self.max_retries or (call.reaches_provider
                                                and call.idempotency_key is None):
                raise failure  # never ask the provider twice for one answer
            yield self._delay(attempt, retry_after)
            attempt += 1
