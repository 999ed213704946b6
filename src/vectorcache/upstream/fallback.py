"""Fallback models: when the requested model times out or fails with a 5xx, try the next one.

Wraps any ``Upstream``. A stream falls back only before its first chunk: once bytes have gone
to the client, a failure is the client's to see. ``fallback_used`` names the model that
answered when it was not the requested one (the gateway sends it as ``X-Fallback-Used`` and
``X-Vectorcache-Model``), as does the ``Completion``'s ``fallback_model``: such an answer is
never cached, so that it is never served later as the requested model's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from vectorcache.errors import UpstreamError
from vectorcache.upstream.base import ChatRequest, Completion, StreamChunk, Upstream

__all__ = ["RETRYABLE_CODES", "FallbackUpstream"]

#: provider failures worth another model: timeouts, unreachable, 5xx (``upstream_error``)
RETRYABLE_CODES = frozenset({"upstream_error", "upstream_timeout", "upstream_unreachable",
                             "upstream_rate_limited"})


class FallbackUpstream:
    def __init__(self, inner: Upstream, fallback_models: Sequence[str]) -> None:
        self._inner = inner
        self._fallbacks = tuple(fallback_models)
        self.name = inner.name
        self.fallback_used: str | None = None

    def _models(self, request: ChatRequest) -> list[str]:
        return [request.model, *(m for m in self._fallbacks if m != request.model)]

    async def complete(self, request: ChatRequest) -> Completion:
        last: UpstreamError | None = None
        for model in self._models(request):
            try:
                completion = await self._inner.complete(replace(request, model=model))
            except UpstreamError as exc:
                if exc.code not in RETRYABLE_CODES:
                    raise
                last = exc
                continue
            self.fallback_used = None if model == request.model else model
            return replace(completion, fallback_model=self.fallback_used)
        assert last is not None
        raise last

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        last: UpstreamError | None = None
        for model in self._models(request):
            chunks = self._inner.stream(replace(request, model=model))
            try:
                try:
                    first = await anext(chunks)
                except StopAsyncIteration:
                    return
                except UpstreamError as exc:
                    if exc.code not in RETRYABLE_CODES:
                        raise
                    last = exc
                    continue
                self.fallback_used = None if model == request.model else model
                yield first
                async for chunk in chunks:
                    yield chunk
                return
            finally:
                close = getattr(chunks, "aclose", None)
                if close is not None:
                    await close()
        assert last is not None
        raise last
