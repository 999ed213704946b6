"""One error tree for the SDK: every failure is a ``VectorcacheClientError``."""

from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "ClientConfigurationError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ServerError",
    "ValidationError",
    "VectorcacheClientError",
    "error_for_status",
]


class VectorcacheClientError(Exception):
    """Base of every error the SDK raises."""


class APIConnectionError(VectorcacheClientError):
    """The server could not be reached (retried)."""


class RequestTimeout(APIConnectionError, builtins.TimeoutError):
    """The request timed out (retried)."""


class APIError(VectorcacheClientError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, status: int, code: str | None = None,
                 body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body


class ValidationError(APIError):
    """400, 413 or 422: the request is malformed, too large or not cacheable."""


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, unknown, revoked or expired."""


class PermissionDeniedError(APIError):
    """403: the key lacks a scope, a model, an IP, or names another project."""


class NotFoundError(APIError):
    """404: no such entry or project."""


class RateLimitError(APIError):
    """429: rate limit or quota; ``retry_after`` seconds until it may succeed."""

    def __init__(self, message: str, *, status: int, code: str | None = None,
                 body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code, body=body)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server, its storage or the LLM provider failed."""


_BY_STATUS: dict[int, type[APIError]] = {400: ValidationError, 413: ValidationError,
                                         422: ValidationError, 401: AuthenticationError,
                                         403: PermissionDeniedError, 404: NotFoundError}


def error_for_status(status: int, body: Any, retry_after: float | None) -> APIError:
    """The typed error for a response, with the server's message and code."""
    message, code = f"HTTP {status}", None
    if isinstance(body, dict):
        inner = body.get("error")
        error: dict[str, Any] = inner if isinstance(inner, dict) else body
        message = str(error.get("detail") or error.get("message") or message)
        code = error.get("code")
    if status == 429:
        return RateLimitError(message, status=status, code=code, body=body,
                              retry_after=retry_after)
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    return kind(message, status=status, code=code, body=body)


class ClientConfigurationError(VectorcacheClientError, ValueError):
    """The client was configured in a way that cannot work (or is unsafe)."""
