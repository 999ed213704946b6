"""What callers ask the cache service, and what it answers (API-independent shapes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vectorcache.models import Usage

__all__ = ["CacheRequest", "LookupResult", "Message", "QueryResult", "StoreRequest"]

Message = dict[str, Any]  # {"role": ..., "content": ...}


@dataclass
class CacheRequest:
    """A prompt (or a chat) to answer from the cache, in one partition."""

    prompt: str | None = None
    messages: list[Message] | None = None
    model: str | None = None
    context: str | None = None
    similarity_threshold: float | None = None
    include_debug: bool = False
    #: provider parameters that change the answer (temperature, max_tokens, ...)
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, object] | None = None
    user: str | None = None
    ttl_seconds: int | None = None
    #: skip the lookup (Cache-Control: no-cache) / don't store the answer (no-store)
    no_lookup: bool = False
    no_store: bool = False


@dataclass
class StoreRequest:
    prompt: str | None = None
    messages: list[Message] | None = None
    response: str = ""
    model: str | None = None
    context: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, object] | None = None
    user: str | None = None
    ttl_seconds: int | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass
class LookupResult:
    hit: bool
    response: str | None = None
    similarity: float | None = None
    entry_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_saved: float = 0.0
    #: why the request was not looked up or will not be stored ("pii", "no-cache", ...)
    bypass: str | None = None
    debug: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    #: the query's embedding on a semantic miss, reused when the answer is stored (internal)
    vector: Any = field(default=None, repr=False)
    #: a hit on the normalised prompt's exact key (no embedding): for the request log
    exact: bool = False


@dataclass
class QueryResult(LookupResult):
    provider: str = "cache"
    tokens_used: int = 0
    estimated_cost: float = 0.0
    response_time_ms: float = 0.0
    query_id: str = ""
    #: the provider's raw answer (gateway replays its shape)
    raw: dict[str, Any] | None = None
    #: the provider's call on a miss answered by it: its time and usage (the request log)
    provider_ms: float = 0.0
    provider_usage: Usage = field(default_factory=Usage)
