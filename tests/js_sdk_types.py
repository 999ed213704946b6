"""The Vectorcache TypeScript SDK (``vectorcache-js``) as it is published: what each method
sends, and the types it declares for each answer, written out in Python from its
``src/client.ts``, ``src/types.ts``, ``src/errors.ts`` and README, so CI needs no Node.

A spec maps each field to ``(kind, required)``. Kinds: ``STRING``, ``NUMBER`` (a JSON number,
never a boolean), ``BOOLEAN``, ``ANY_OBJECT``, ``Literal(...)``, ``Array(kind)``, a nested spec,
or ``Nullable(kind)`` where our own contract (API.md) documents ``null`` for a field the SDK
marks optional. Fields beyond the spec are allowed: the server answers with a superset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = [
    "CACHE_STATS_RESPONSE", "CACHE_TEST_RESPONSE", "CLEAR_CACHE_RESPONSE", "HEALTH_RESPONSE",
    "SEMANTIC_QUERY_RESPONSE", "SIMILAR_ENTRY", "SIMILAR_QUERIES_RESPONSE", "WORKFLOW_STEP",
    "error_class", "sdk_headers", "similar_path", "violations",
]

STRING, NUMBER, BOOLEAN, ANY_OBJECT = "string", "number", "boolean", "object"
REQUIRED, OPTIONAL = True, False


@dataclass(frozen=True)
class Literal:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Array:
    of: Any


@dataclass(frozen=True)
class Nullable:
    of: Any


Spec = dict[str, tuple[Any, bool]]

# src/client.ts, makeRequest(): every request carries these (body: JSON.stringify(body)).
# API.md records the SDK's key header as X-API-Key; the published source sends a Bearer
# token. Both are sent by the tests, one at a time.
SDK_HEADERS = {"Content-Type": "application/json", "User-Agent": "vectorcache-js/0.1.0"}


def sdk_headers(key: str, scheme: str) -> dict[str, str]:
    auth = {"bearer": {"Authorization": f"Bearer {key}"}, "x-api-key": {"X-API-Key": key}}
    return {**SDK_HEADERS, **auth[scheme]}


#: what JavaScript's encodeURIComponent leaves as it is, beside letters and digits
_UNRESERVED = "-_.!~*'()"


def similar_path(project_id: str, query: str) -> str:
    """findSimilarQueries(): ``?query=${encodeURIComponent(query)}``, nothing else."""
    return f"/v1/cache/projects/{project_id}/similar?query={quote(query, safe=_UNRESERVED)}"


# src/errors.ts, createErrorFromResponse(): the status picks the class; the message is
# ``body.message || body.detail || statusText``
def error_class(status: int) -> str:
    return {400: "VectorcacheValidationError", 401: "VectorcacheAuthenticationError",
            403: "VectorcacheAuthenticationError", 408: "VectorcacheTimeoutError",
            429: "VectorcacheRateLimitError", 500: "VectorcacheServerError",
            502: "VectorcacheServerError", 503: "VectorcacheServerError",
            504: "VectorcacheServerError"}.get(status, "VectorcacheAPIError")


SEMANTIC_QUERY_RESPONSE: Spec = {
    "response": (STRING, REQUIRED),
    "is_cache_hit": (BOOLEAN, REQUIRED),
    # types.ts: ``similarity_score?: number``; API.md (and the hosted docs' ``number | null``)
    # answer a miss with null, kept for the clients that read it
    "similarity_score": (Nullable(NUMBER), OPTIONAL),
    "response_time_ms": (NUMBER, REQUIRED),
    "tokens_used": (NUMBER, OPTIONAL),
    "estimated_cost": (NUMBER, OPTIONAL),
    "cache_entry_id": (STRING, OPTIONAL),
    "query_id": (STRING, REQUIRED),
}

CACHE_STATS_RESPONSE: Spec = {
    "project_id": (STRING, REQUIRED),
    **{name: (NUMBER, REQUIRED) for name in (
        "total_entries", "active_entries", "expired_entries", "total_hits",
        "total_tokens_saved", "total_cost_saved", "avg_similarity_score", "cache_size_mb")},
}

CLEAR_CACHE_RESPONSE: Spec = {name: (NUMBER, REQUIRED) for name in (
    "entries_cleared", "space_freed_mb", "operation_time_ms")}

SIMILAR_ENTRY: Spec = {
    "id": (STRING, REQUIRED),
    "original_query": (STRING, REQUIRED),
    "similarity": (NUMBER, REQUIRED),
    "created_at": (STRING, REQUIRED),
}

SIMILAR_QUERIES_RESPONSE: Spec = {
    "query": (STRING, REQUIRED),
    # typed Record<string, any>[]; the README's examples read each as a SimilarEntry
    "similar_entries": (Array(SIMILAR_ENTRY), REQUIRED),
    "total_found": (NUMBER, REQUIRED),
}

WORKFLOW_STEP: Spec = {
    "id": (NUMBER, REQUIRED),
    "name": (STRING, REQUIRED),
    "status": (Literal(("pending", "running", "success", "error", "skipped")), REQUIRED),
    "duration": (NUMBER, OPTIONAL),
    "details": (STRING, OPTIONAL),
    "icon": (STRING, REQUIRED),
}

CACHE_TEST_RESPONSE: Spec = {
    "cache_hit": (BOOLEAN, REQUIRED),
    "similarity_score": (NUMBER, OPTIONAL),
    "response_time": (NUMBER, REQUIRED),
    "cost_saved": (NUMBER, OPTIONAL),
    "cost_spent": (NUMBER, OPTIONAL),
    "response": (STRING, REQUIRED),
    "cache_entry_id": (STRING, OPTIONAL),
    "similar_entries": (Array(SIMILAR_ENTRY), REQUIRED),
    "workflow_steps": (Array(WORKFLOW_STEP), OPTIONAL),
}

HEALTH_RESPONSE: Spec = {"status": (STRING, REQUIRED), "timestamp": (STRING, REQUIRED)}


def _kind_violations(value: Any, kind: Any, path: str) -> list[str]:
    if isinstance(kind, Nullable):
        return [] if value is None else _kind_violations(value, kind.of, path)
    if value is None:
        return [f"{path}: null, declared {kind if isinstance(kind, str) else type(kind).__name__}"]
    if isinstance(kind, dict):
        return violations(value, kind, path)
    if isinstance(kind, Array):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, declared an array"]
        return [v for i, item in enumerate(value)
                for v in _kind_violations(item, kind.of, f"{path}[{i}]")]
    if isinstance(kind, Literal):
        return [] if value in kind.values else [f"{path}: {value!r} not in {kind.values}"]
    ok = {STRING: isinstance(value, str),
          NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
          BOOLEAN: isinstance(value, bool),
          ANY_OBJECT: isinstance(value, dict)}[kind]
    return [] if ok else [f"{path}: {value!r} is not a {kind}"]


def violations(value: Any, spec: Spec, path: str = "$") -> list[str]:
    """Every way ``value`` differs from ``spec`` (empty when it conforms)."""
    if not isinstance(value, dict):
        return [f"{path}: {type(value).__name__}, declared an object"]
    found: list[str] = []
    for name, (kind, required) in spec.items():
        if name not in value:
            if required:
                found.append(f"{path}.{name}: missing, declared required")
            continue
        found += _kind_violations(value[name], kind, f"{path}.{name}")
    return found
