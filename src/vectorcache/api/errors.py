"""One place where errors become responses: the native ``{"detail", "code"}`` shape, or OpenAI's
``{"error": {...}}`` on the gateway routes. Never a stack trace, never a 422."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from vectorcache.errors import RateLimited, ServiceUnavailable, VectorcacheError

__all__ = ["allowed_methods", "error_response", "install_error_handlers", "is_gateway_path",
           "validation_message"]

log = logging.getLogger("vectorcache.api")

GATEWAY_PREFIXES = ("/v1/chat/", "/v1/models", "/v1/embeddings", "/v1/completions")


def is_gateway_path(path: str) -> bool:
    return path.startswith(GATEWAY_PREFIXES)


def error_response(path: str, exc: VectorcacheError,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    body: dict[str, Any]
    if isinstance(exc, RateLimited | ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if is_gateway_path(path):
        body = {"error": {"message": exc.detail, "type": exc.openai_type, "code": exc.code,
                          "param": exc.param}}
    else:
        body = {"detail": exc.detail, "code": exc.code}
        if isinstance(exc, RateLimited):
            body["retry_after"] = exc.retry_after
    return JSONResponse(body, status_code=exc.status, headers=headers)


def validation_message(errors: list[Any]) -> tuple[str, str | None]:
    """The first validation error as a sentence, and the field it concerns."""
    if not errors:
        return "Invalid request", None
    err = errors[0]
    kind = err.get("type", "")
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    if kind == "json_invalid":
        return "Invalid JSON format", None
    if kind == "missing":
        return (f"Field required: {field}", field) if field else ("Request body required", None)
    msg = str(err.get("msg", "Invalid value"))
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, "), field
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return "Request body must be a JSON object", None
    return (f"Invalid value for {field}: {msg}" if field else msg), field


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """The methods of the resource at this path, for a 405's ``Allow``: as the OpenAPI
    document names them (one ``{param}`` is one path segment there, so ``…/users/alice/export``
    is the export, not a user "alice/export"), else those of any route matching it. Starlette
    names only the first route it tried, and FastAPI makes one route per method."""
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}]+\})", template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(m.upper() for m in operations if m.upper() in _METHODS))
    allowed = {method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                      for route in request.app.router.routes)}
    return ", ".join(sorted(allowed))


def install_error_handlers(app: FastAPI) -> None:
    from vectorcache.api.refusals import audit_refusal  # imports the runtime, lazily

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VectorcacheError)
        await audit_refusal(request, exc)
        return error_response(request.url.path, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, field = validation_message(list(exc.errors()))
        from vectorcache.errors import ValidationFailed

        return error_response(request.url.path, ValidationFailed(message, param=field))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        err = VectorcacheError(str(exc.detail))
        err.status = exc.status_code
        err.code = {404: "not_found", 405: "method_not_allowed",
                    413: "payload_too_large"}.get(exc.status_code, "http_error")
        err.openai_type = "invalid_request_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path takes, not only the first route's
            headers["Allow"] = allowed_methods(request)
        return error_response(request.url.path, err, headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = request.scope.get("route")
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method,
                  getattr(route, "path", "?"))
        # the server closes the connection after an unhandled error: say so, so a keep-alive
        # client opens a new one instead of finding this one dropped
        return error_response(request.url.path, VectorcacheError(),
                              headers={"Connection": "close"})

    app.add_exception_handler(VectorcacheError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
