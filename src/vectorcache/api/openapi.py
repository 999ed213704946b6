"""The OpenAPI document, told true: every status a route can answer with its body model, the
key schemes (``Authorization: Bearer`` and ``X-API-Key``), the scope each route needs, and
typed bodies where the routes build their JSON by hand (native answers, the gateway).

FastAPI's own document lists only 200 and a 422 this API never sends (bad input is a 400), and
types the gateway as ``Any``. Schemathesis (``tests/test_fuzz.py``, ``bench/fuzz.py``) checks
the server against this document, so a gap here is a failing test, not a stale page.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from vectorcache.api import openai_models as oa
from vectorcache.api import responses as rs
from vectorcache.api.errors import is_gateway_path

__all__ = ["build_openapi", "install_openapi"]

_REF = "#/components/schemas/{model}"

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "vc_ + 32 hex",
               "description": "A project API key: `Authorization: Bearer vc_…`."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same key in `X-API-Key` (what the TypeScript SDK sends); "
                              "`Authorization` wins when both are present."},
}

_STATUS_TEXT = {
    400: "Malformed JSON, or a missing or invalid field or parameter.",
    401: "API key missing, malformed, unknown, revoked or expired.",
    403: "The key lacks the scope, model or client IP, or names another project.",
    404: "No such entry, project, key or model.",
    413: "Request body over the configured limit.",
    422: "Valid, but not cacheable (e.g. non-text content).",
    429: "Rate limit or quota exceeded; wait `Retry-After` seconds.",
    502: "The LLM provider failed (bad provider key, provider 5xx, timeout).",
    503: "Storage or a required service unavailable; retry after `Retry-After` seconds.",
}

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer"}}}
_RATE_HEADERS = {name: {"description": text, "schema": {"type": "integer"}} for name, text in (
    ("X-RateLimit-Limit", "Requests allowed per window."),
    ("X-RateLimit-Remaining", "Requests left in the window."),
    ("X-RateLimit-Reset", "When the window resets (unix seconds)."))}

#: the routes that may call the LLM provider (502), or refuse content they cannot cache (422)
_PROVIDER_ROUTES = {("post", "/v1/cache/query"), ("post", "/v1/chat/completions")}
_NOT_CACHEABLE = _PROVIDER_ROUTES | {("post", "/v1/cache/store")}
#: routes that name an entry in their body (a path parameter always may be unknown: 404)
_NAMES_AN_ENTRY = {("post", "/v1/cache/feedback")}

#: what a hand-built answer looks like (200, or the route's own success status)
_ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("get", "/health"): rs.HealthResponse,
    ("get", "/health/ready"): rs.ReadyResponse,
    ("post", "/v1/cache/query"): rs.QueryResponse,
    ("post", "/v1/cache/lookup"): rs.LookupResponse,
    ("post", "/v1/cache/store"): rs.StoreResponse,
    ("post", "/v1/cache/feedback"): rs.FeedbackResponse,
    ("post", "/v1/cache/test"): rs.DryRunResponse,
    ("post", "/v1/cache/clear"): rs.ClearResponse,
    ("get", "/v1/cache/projects/{project_id}/stats"): rs.StatsResponse,
    ("get", "/v1/cache/projects/{project_id}/similar"): rs.SimilarResponse,
    ("delete", "/v1/cache/entries/{entry_id}"): rs.DeleteEntryResponse,
    ("post", "/v1/chat/completions"): oa.ChatCompletion,
    ("get", "/v1/models"): oa.ModelList,
    ("get", "/v1/models/{model_id}"): oa.Model,
    ("post", "/v1/embeddings"): oa.EmbeddingList,
}
#: request bodies the gateway reads itself (FastAPI sees ``Any``)
_REQUESTS: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v1/chat/completions"): oa.ChatCompletionRequest,
    ("post", "/v1/embeddings"): oa.EmbeddingRequest,
}
#: bodies that name what was asked in one of several fields: one of them is required
_ASKED = [{"required": ["prompt"]}, {"required": ["query"]}, {"required": ["messages"]}]
_ASKING_BODIES = ("QueryBody", "StoreBody")
_ADMIN_PREFIX = "/admin/api/"


def _scope_of(op: dict[str, Any]) -> str | None:
    """The scope a route requires: ``authenticated(scope)`` declares it as the role of each
    key scheme (``security: [{"bearer": [scope]}, {"apiKey": [scope]}]``)."""
    for requirement in op.get("security", ()):
        for roles in requirement.values():
            return str(roles[0]) if roles else ""
    return None


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _error_statuses(method: str, path: str, op: dict[str, Any], scope: str | None) -> list[int]:
    statuses = [503] if path == "/health/ready" else []
    # the admin plane signs in with a session cookie (``api/admin_deps.py``), not a key
    if scope is None and not path.startswith(_ADMIN_PREFIX):
        return statuses
    statuses += [400, 401, 403, 429, 503]
    if any(p.get("in") == "path" for p in op.get("parameters", ())) \
            or (method, path) in _NAMES_AN_ENTRY:
        statuses.append(404)
    if "requestBody" in op or method in ("post", "put", "patch"):
        statuses.append(413)
    if (method, path) in _NOT_CACHEABLE:
        statuses.append(422)
    if (method, path) in _PROVIDER_ROUTES:
        statuses += [404, 502]
    return sorted(set(statuses))


def _document(method: str, path: str, op: dict[str, Any], scope: str | None) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's validation 422: this API answers bad input with 400
    if (method, path) in _REQUESTS:
        op["requestBody"] = {"required": True, "content": _json(_REQUESTS[method, path])}
    ok = next((s for s in responses if s.startswith("2")), "200")
    answer = _ANSWERS.get((method, path))
    if answer is not None:
        content = _json(answer)
        if path == "/v1/chat/completions":
            content["text/event-stream"] = {"schema": {  # one server-sent event
                "type": "object", "required": ["data"], "properties": {"data": {
                    "type": "string", "description": "With `stream: true`: a JSON "
                    "chat.completion.chunk per event, then `[DONE]`."}}}}
        responses[ok] = {**responses.get(ok, {}), "description": "Success", "content": content}
    if scope:
        responses[ok]["headers"] = _RATE_HEADERS
        op["description"] = (op.get("description", "") + f"\n\nRequires scope `{scope}`.").strip()
    error = rs.GatewayError if is_gateway_path(path) else rs.Error
    for status in _error_statuses(method, path, op, scope):
        body: dict[str, Any] = {"description": _STATUS_TEXT[status], "content": _json(error)}
        if status in (429, 503):
            body["headers"] = _RETRY_AFTER
        if status == 400:  # a request line the HTTP server cannot parse never reaches the app
            body["content"]["text/plain"] = {"schema": {"type": "string"}}
        if path == "/health/ready":
            body = {"description": "Not ready: a dependency is down.",
                    "content": _json(rs.ReadyResponse), "headers": _RETRY_AFTER}
        responses[str(status)] = body


def build_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_schemas([*_ANSWERS.values(), *_REQUESTS.values(), rs.Error,
                             rs.GatewayError]))
    for name in _ASKING_BODIES:
        if name in schemas:
            schemas[name]["anyOf"] = _ASKED
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    doc["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            _document(method, path, op, _scope_of(op))
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve ``build_openapi`` at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
