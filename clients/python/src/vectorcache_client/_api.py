"""Every API method, written once: each builds a ``Call`` (path, body, parser). The sync and
async clients turn these into methods that send it (see ``_client.py``)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from vectorcache_client._base import BaseClient, Call, compact
from vectorcache_client._types import (
    ClearResult,
    FeedbackResult,
    HealthStatus,
    LookupResult,
    ProjectStats,
    QueryResult,
    SimilarResult,
    StoreResult,
    from_json,
)

__all__ = ["Endpoints"]

Messages = list[dict[str, Any]]


def _prompt_fields(prompt: str | None, messages: Messages | None, model: str | None,
                   context: str | None, **more: Any) -> dict[str, Any]:
    return compact(prompt=prompt, messages=messages, model=model, context=context, **more)


class Endpoints(BaseClient):
    def query(self, /, prompt: str | None = None, *, messages: Messages | None = None,
              model: str | None = None, context: str | None = None,
              similarity_threshold: float | None = None, max_tokens: int | None = None,
              temperature: float | None = None, metadata: dict[str, Any] | None = None,
              user: str | None = None, include_debug: bool = False,
              idempotency_key: str | None = None) -> Call[QueryResult]:
        """Answer from the cache, else from the project's LLM (and cache the answer).

        Sent with an ``Idempotency-Key`` (``idempotency_key``, or a new UUID), the same on
        every retry, so a retry after a timeout or a 502 is answered with what the first
        attempt got and never pays the provider twice."""
        return Call("POST", "/v1/cache/query", lambda d: from_json(QueryResult, d),
                    json=_prompt_fields(prompt, messages, model, context,
                                        similarity_threshold=similarity_threshold,
                                        max_tokens=max_tokens, temperature=temperature,
                                        metadata=metadata, user=user,
                                        include_debug=include_debug or None),
                    reaches_provider=True,
                    idempotency_key=idempotency_key or str(uuid.uuid4()))

    def lookup(self, /, prompt: str | None = None, *, messages: Messages | None = None,
               model: str | None = None, context: str | None = None,
               similarity_threshold: float | None = None,
               include_debug: bool = False) -> Call[LookupResult]:
        """Look in the cache only; never calls the LLM."""
        return Call("POST", "/v1/cache/lookup", lambda d: from_json(LookupResult, d),
                    json=_prompt_fields(prompt, messages, model, context,
                                        similarity_threshold=similarity_threshold,
                                        include_debug=include_debug or None))

    def store(self, /, prompt: str | None = None, response: str = "", *,
              messages: Messages | None = None, model: str | None = None,
              context: str | None = None, metadata: dict[str, Any] | None = None,
              user: str | None = None, ttl_seconds: int | None = None,
              usage: dict[str, int] | None = None) -> Call[StoreResult]:
        """Store an answer you got yourself."""
        return Call("POST", "/v1/cache/store", lambda d: from_json(StoreResult, d),
                    json=_prompt_fields(prompt, messages, model, context, response=response,
                                        metadata=metadata, user=user, ttl_seconds=ttl_seconds,
                                        usage=usage))

    def feedback(self, /, cache_entry_id: str, prompt: str | None = None, *, correct: bool,
                 messages: Messages | None = None) -> Call[FeedbackResult]:
        """Report a served answer as wrong (``correct=False``): that entry is afterwards served
        only to prompts closer to it than this one, or deleted if it was wrong for its own
        prompt. ``prompt``/``messages``: what was asked; the entry id from the hit."""
        return Call("POST", "/v1/cache/feedback", lambda d: from_json(FeedbackResult, d),
                    json=compact(cache_entry_id=cache_entry_id, prompt=prompt,
                                 messages=messages, correct=correct))

    def stats(self, /, project_id: str | None = None) -> Call[ProjectStats]:
        """The project's cache statistics (needs ``analytics:read``)."""
        path = f"/v1/cache/projects/{quote(self._project(project_id), safe='')}/stats"
        return Call("GET", path, lambda d: from_json(ProjectStats, d))

    def clear(self, /, *, project_id: str | None = None, expired_only: bool = False,
              older_than_hours: float | None = None) -> Call[ClearResult]:
        """Remove the project's entries (all, expired only, or older than some hours)."""
        return Call("POST", "/v1/cache/clear", lambda d: from_json(ClearResult, d),
                    json=compact(project_id=project_id or self.project_id,
                                 expired_only=expired_only, older_than_hours=older_than_hours))

    def similar(self, /, query: str, *, project_id: str | None = None, model: str | None = None,
                context: str | None = None, limit: int = 10) -> Call[SimilarResult]:
        """The stored prompts nearest to ``query`` in one partition (project, model, context)."""
        path = f"/v1/cache/projects/{quote(self._project(project_id), safe='')}/similar"
        return Call("GET", path, SimilarResult.parse,
                    params=compact(query=query, model=model, context=context, limit=limit))

    def health(self, /) -> Call[HealthStatus]:
        """Liveness of the server (no key needed server-side)."""
        return Call("GET", "/health", lambda d: from_json(HealthStatus, d))
