"""One error tree. Each error has a stable ``code``, an HTTP ``status`` and a ``retryable`` flag.

The API edge maps these to the native shape ``{"detail", "code"}`` or OpenAI's error shape.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConfigurationError",
    "HeaderTooLarge",
    "NotCacheable",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ProviderRateLimited",
    "ProviderRejected",
    "RateLimited",
    "ServiceUnavailable",
    "UnsupportedMediaType",
    "UpstreamError",
    "ValidationFailed",
    "VectorcacheError",
]


class VectorcacheError(Exception):
    status: int = 500
    code: str = "internal_error"
    openai_type: str = "server_error"
    retryable: bool = False
    default_detail: str = "Internal server error"

    def __init__(self, detail: str | None = None, *, code: str | None = None,
                 param: str | None = None) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        self.param = param
        super().__init__(self.detail)


class ValidationFailed(VectorcacheError):
    status = 400
    code = "invalid_request"
    openai_type = "invalid_request_error"
    default_detail = "Invalid request"


class AuthenticationFailed(VectorcacheError):
    status = 401
    code = "invalid_api_key"
    openai_type = "authentication_error"
    default_detail = "Invalid or missing API key"
    #: (project id, key id) of a key the server knows and refused (revoked, rotated past its
    #: grace, expired): the request log names them; never shown to the caller
    subject: tuple[str, str] | None = None


class PermissionDenied(VectorcacheError):
    status = 403
    code = "permission_denied"
    openai_type = "permission_error"
    default_detail = "API key does not have permission to access this project"


class NotFound(VectorcacheError):
    status = 404
    code = "not_found"
    openai_type = "invalid_request_error"
    default_detail = "Not found"


class PayloadTooLarge(VectorcacheError):
    status = 413
    code = "payload_too_large"
    openai_type = "invalid_request_error"
    default_detail = "Request body too large"


class UnsupportedMediaType(VectorcacheError):
    status = 415
    code = "unsupported_media_type"
    openai_type = "invalid_request_error"
    default_detail = "Content-Type must be application/json"


class HeaderTooLarge(VectorcacheError):
    status = 431
    code = "header_too_large"
    openai_type = "invalid_request_error"
    default_detail = "Request header fields too large"


class NotCacheable(VectorcacheError):
    status = 422
    code = "not_cacheable"
    openai_type = "invalid_request_error"
    default_detail = "Request is valid but cannot be cached"


class RateLimited(VectorcacheError):
    status = 429
    code = "rate_limit_exceeded"
    openai_type = "rate_limit_error"
    retryable = True
    default_detail = "Rate limit exceeded. Please try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 1,
                 code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = max(1, int(retry_after))


class UpstreamError(VectorcacheError):
    status = 502
    code = "upstream_error"
    openai_type = "server_error"
    retryable = True
    default_detail = "LLM provider error"
    #: the provider may have done (and billed) the work: a timeout while it answered, an
    #: answer that could not be read. False where it answered an error status or was never
    #: reached: asking again then costs nothing (``api/idempotent.py``)
    may_have_billed = True


class ProviderRejected(UpstreamError):
    """The provider refused the request itself (a 4xx: context too long, unknown model): the
    client's to fix, so passed on with the provider's status and message, not as a 502."""

    openai_type = "invalid_request_error"
    code = "upstream_bad_request"
    retryable = False
    may_have_billed = False

    def __init__(self, detail: str | None = None, *, status: int = 400,
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(detail, code=code, param=param)
        self.status = status


class ProviderRateLimited(UpstreamError, RateLimited):
    """The provider said 429: a 429 to the client too, with the provider's ``Retry-After``."""

    status = 429
    code = "upstream_rate_limited"
    openai_type = "rate_limit_error"
    may_have_billed = False

    def __init__(self, detail: str | None = None, *, retry_after: int = 1,
                 code: str | None = None) -> None:
        VectorcacheError.__init__(self, detail, code=code)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(VectorcacheError):
    status = 503
    code = "service_unavailable"
    openai_type = "server_error"
    retryable = True
    default_detail = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ConfigurationError(VectorcacheError):
    code = "configuration_error"
    default_detail = "Configuration error"
