"""The OpenAI-compatible gateway: chat completions through the cache, streamed or not.

Built on ``CacheService``'s public steps (``plan``, ``lookup_plan``, ``store_answer``): the last
user turn is matched semantically inside a partition of project, model, context, the earlier
conversation and the sampling parameters that change answers. What cannot be cached (tools,
tool turns, non-text content, ``n > 1``, logprobs) passes straight through as a *bypass*.

A streamed miss is relayed chunk by chunk as it arrives and stored only once the provider has
finished it (``finish_reason: stop``, no tool call): a provider failure, or every client of it
going away mid-stream, leaves nothing stored. Identical concurrent misses share one provider
call: non-streaming ones through ``SingleFlight``, streamed ones through ``Broadcast`` (a late
joiner is replayed the chunks it missed, then follows live); between the two kinds, and on
replicas sharing a Redis, the others wait for the one asking the provider and serve the entry
it stored (``CacheService.provider_turn``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from vectorcache.errors import NotCacheable, UpstreamError, ValidationFailed
from vectorcache.models import Usage, UsageEvent
from vectorcache.pricing import Pricing
from vectorcache.service.auth import Principal
from vectorcache.service.broadcast import Broadcast, Listener
from vectorcache.service.cache import CacheService
from vectorcache.service.events import EventWriter
from vectorcache.service.plan import Plan
from vectorcache.service.prompt import resolve_prompt
from vectorcache.service.singleflight import SingleFlight
from vectorcache.service.sse import DONE, chat_completion, error_event, replay_chunks, sse
from vectorcache.service.timing import elapsed_ms
from vectorcache.settings import Settings
from vectorcache.store import Store
from vectorcache.upstream import ChatRequest, Upstream, build_upstream
from vectorcache.upstream.fallback import FallbackUpstream

__all__ = ["SAMPLING_PARAMS", "CacheControl", "Gateway", "GatewayAnswer"]

#: request fields that change the answer: part of the partition
SAMPLING_PARAMS = ("temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens",
                   "seed", "stop", "response_format", "presence_penalty",
                   "frequency_penalty", "logit_bias", "n", "reasoning_effort", "verbosity")
#: sampling parameters that are real numbers, however a client spells them
_REAL_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
#: request fields whose presence makes a request uncacheable
_BYPASS_FIELDS = ("tools", "functions", "tool_choice", "function_call", "audio",
                  "web_search_options", "logprobs", "top_logprobs")
_NOT_SENT = ("model", "messages", "stream", "stream_options")
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


@dataclass(frozen=True)
class CacheControl:
    """Per-request cache control, from request headers."""

    no_lookup: bool = False
    no_store: bool = False
    threshold: float | None = None
    context: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> CacheControl:
        directives = {d.strip().lower() for d in headers.get("cache-control", "").split(",")}
        raw = headers.get("x-vectorcache-threshold")
        threshold = None
        if raw is not None:
            try:
                threshold = float(raw)
            except ValueError:
                threshold = -1.0
            if not 0.0 <= threshold <= 1.0:
                raise ValidationFailed("X-Vectorcache-Threshold must be a number between 0 and 1",
                                       param="X-Vectorcache-Threshold")
        return cls(no_lookup="no-cache" in directives, no_store="no-store" in directives,
                   threshold=threshold, context=headers.get("x-vectorcache-context") or None)


@dataclass
class GatewayAnswer:
    """A JSON body, or an SSE byte stream; with the ``X-Vectorcache-*`` headers."""

    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    stream: AsyncIterator[bytes] | None = None


@dataclass
class _Chat:
    """One chat request, parsed."""

    principal: Principal
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]  # sent to the provider
    stream: bool
    include_usage: bool
    control: CacheControl
    can_store: bool
    user: str | None
    metadata: dict[str, object] | None
    started: float = field(default_factory=time.perf_counter)

    @property
    def shares_misses(self) -> bool:
        """Whether a miss waits for another request asking the provider the same, and makes
        others wait for it: not when it wants a fresh answer or will store none."""
        return self.can_store and not self.control.no_lookup and not self.control.no_store


def _bypass_reason(body: Mapping[str, Any]) -> str | None:
    for name in _BYPASS_FIELDS:
        if body.get(name):
            return "tools" if name in ("tools", "functions", "tool_choice",
                                       "function_call") else name
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        return "n>1"
    return None


def _parse(principal: Principal, body: Mapping[str, Any], control: CacheControl,
           can_store: bool) -> _Chat:
    model = body.get("model") or principal.project.default_model
    if not isinstance(model, str) or not model:
        raise ValidationFailed("Field required: model", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages \
            or not all(isinstance(m, dict) for m in messages):
        raise ValidationFailed("messages must be a non-empty array of message objects",
                               param="messages")
    for i, message in enumerate(messages):
        if message.get("role") not in _ROLES:
            raise ValidationFailed(f"Invalid role in messages[{i}]: {message.get('role')!r}",
                                   param="messages")
    principal.check_model(model)
    options = body.get("stream_options")
    user, metadata = body.get("user"), body.get("metadata")
    return _Chat(principal=principal, model=model, messages=messages,
                 params={k: v for k, v in body.items() if k not in _NOT_SENT},
                 stream=bool(body.get("stream")),
                 include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
                 control=control, can_store=can_store,
                 user=user if isinstance(user, str) else None,
                 metadata=metadata if isinstance(metadata, dict) else None)


def _sampling(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: params[k] for k in SAMPLING_PARAMS if params.get(k) is not None}
    if out.get("n") == 1:
        del out["n"]
    for k in _REAL_PARAMS:  # `temperature: 0` and `0.0` (what the native API sends) are one
        if type(out.get(k)) is int:
            out[k] = float(out[k])
    return out


class _Relay:
    """What a relayed stream said, to decide whether it may be stored."""

    def __init__(self) -> None:
        self.chunks = 0
        self.parts: list[str] = []
        self.finish: str | None = None
        self.tools = False
        self.refusal = False
        self.usage = Usage()

    def add(self, data: Mapping[str, Any]) -> None:
        self.chunks += 1
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(int(usage.get("prompt_tokens") or 0),
                               int(usage.get("completion_tokens") or 0))
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.parts.append(str(delta["content"]))
            self.tools = self.tools or bool(delta.get("tool_calls") or delta.get("function_call"))
            self.refusal = self.refusal or bool(delta.get("refusal"))
            self.finish = choice.get("finish_reason") or self.finish

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def cacheable(self) -> bool:
        return (self.finish == "stop" and not self.tools and not self.refusal
                and bool(self.text.strip()))


@dataclass(frozen=True)
class _Answered:
    """A provider's non-streaming answer, as shared with coalesced identical requests."""

    raw: Any
    usage: Usage
    entry_id: str | None
    headers: dict[str, str]
    #: served from the entry another request stored while this one waited for it
    waited: bool = False
    similarity: float = 1.0


@dataclass(frozen=True)
class _Streamed:
    """How a streamed miss ended (for the listeners that shared it)."""

    usage: Usage
    entry_id: str | None


@dataclass
class _StreamFlight:
    """A streamed provider call in progress, and the headers its first chunk settled."""

    chunks: Broadcast[dict[str, Any], _Streamed]
    headers: dict[str, str]


class Gateway:
    def __init__(self, *, settings: Settings, cache: CacheService, store: Store,
                 http: httpx.AsyncClient, events: EventWriter, pricing: Pricing) -> None:
        self._settings = settings
        self._cache = cache
        self._store = store
        self._http = http
        self._events = events
        self._pricing = pricing
        # identical concurrent non-streaming misses: one provider call, the others share it
        self._misses: SingleFlight[_Answered] = SingleFlight()
        # identical concurrent streaming misses: one provider stream, replayed to each
        self._streams: dict[Hashable, _StreamFlight] = {}

    async def chat(self, principal: Principal, body: Mapping[str, Any], control: CacheControl,
                   *, can_store: bool) -> GatewayAnswer:
        chat = _parse(principal, body, control, can_store)
        answer = await self._answer(chat, body)
        answer.headers.setdefault("X-Vectorcache-Model", chat.model)  # a fallback's, if one
        return answer

    async def _answer(self, chat: _Chat, body: Mapping[str, Any]) -> GatewayAnswer:
        principal, control = chat.principal, chat.control
        reason = _bypass_reason(body)
        plan: Plan | None = None
        if reason is None:
            try:
                resolve_prompt(None, chat.messages, self._settings.max_prompt_chars)
                plan = self._cache.plan(principal, prompt=None, messages=chat.messages,
                                        model=chat.model, context=control.context,
                                        params=_sampling(chat.params),
                                        threshold=control.threshold, user=chat.user)
            except NotCacheable as exc:
                reason = exc.code
            except ValidationFailed as exc:
                if exc.param not in ("prompt", "messages"):
                    raise
                reason = "uncacheable_prompt"
        if plan is not None and plan.bypass:  # personal data, or no user in user scope
            reason, plan = plan.bypass, None
        if plan is None:
            return await self._call(chat, None, {"X-Vectorcache-Cache": "bypass",
                                                 "X-Vectorcache-Reason": reason or "bypass"})
        if not control.no_lookup:
            looked = await self._cache.lookup_plan(plan)
            if looked.hit and looked.response is not None:
                headers = {"X-Vectorcache-Cache": "hit",
                           "X-Vectorcache-Similarity": f"{looked.similarity or 0.0:.4f}",
                           "X-Vectorcache-Entry-Id": looked.entry_id or "",
                           "X-Vectorcache-Tokens-Saved": str(looked.usage.total_tokens)}
                self._record(chat, "hit", entry_id=looked.entry_id,
                             similarity=looked.similarity, saved=looked.cost_saved,
                             tokens=looked.usage.total_tokens, exact=looked.exact)
                if chat.stream:
                    return GatewayAnswer(headers, stream=self._replay(chat, looked.response))
                return GatewayAnswer(headers, body=chat_completion(looked.response, chat.model))
            return await self._call(chat, plan, {"X-Vectorcache-Cache": "miss"}, looked.vector)
        return await self._call(chat, plan, {"X-Vectorcache-Cache": "miss"})

    # ---------------------------------------------------------------- provider
    async def _upstream(self, chat: _Chat) -> Upstream:
        config = await self._store.get_provider(chat.principal.project.id)
        return build_upstream(self._http, config)

    async def _call(self, chat: _Chat, plan: Plan | None, headers: dict[str, str],
                    vector: Any = None) -> GatewayAnswer:
        if chat.stream:
            return await self._stream(chat, plan, headers, vector)

        async def answer() -> _Answered:
            if plan is None or not chat.shares_misses:
                return await ask()
            async with self._cache.provider_turn(plan) as hit:
                if hit is None:
                    return await ask()
            return _Answered(chat_completion(hit.response or "", chat.model), hit.usage,
                             hit.entry_id, {}, waited=True,
                             similarity=hit.similarity or 1.0)

        async def ask() -> _Answered:  # the provider config is read by the leader only
            upstream = await self._upstream(chat)
            completion = await upstream.complete(ChatRequest(chat.model, chat.messages,
                                                             chat.params))
            extra: dict[str, str] = {}
            _fallback_header(upstream, extra)
            entry_id = None
            if plan is not None and completion.cacheable:
                entry_id = await self._store_answer(chat, plan, completion.text,
                                                    completion.usage, upstream.name, vector)
            return _Answered(completion.raw, completion.usage, entry_id, extra)

        if plan is None:
            done, shared = await answer(), False
        else:
            done, shared = await self._misses.run(_flight_key(chat, plan), answer)
        headers.update(done.headers)
        if done.entry_id:
            headers["X-Vectorcache-Entry-Id"] = done.entry_id
        if shared or done.waited:  # answered by an identical request in flight
            headers.update({"X-Vectorcache-Cache": "hit", "X-Vectorcache-Coalesced": "true",
                            "X-Vectorcache-Tokens-Saved": str(done.usage.total_tokens)})
            self._record(chat, "hit", entry_id=done.entry_id, similarity=done.similarity,
                         saved=self._pricing.cost(chat.model, done.usage),
                         tokens=done.usage.total_tokens)
        else:
            self._record(chat, "bypass" if plan is None else "miss", entry_id=done.entry_id,
                         usage=done.usage)
        return GatewayAnswer(headers, body=done.raw)

    async def _store_answer(self, chat: _Chat, plan: Plan, text: str, usage: Usage,
                            provider: str, vector: Any) -> str | None:
        if chat.control.no_store or not chat.can_store:
            return None
        return await self._cache.store_answer(
            chat.principal, plan, response=text, usage=usage, provider=provider,
            user=chat.user, metadata=chat.metadata, context=chat.control.context,
            ttl_seconds=None, vector=vector)

    # ---------------------------------------------------------------- streams
    async def _replay(self, chat: _Chat, text: str) -> AsyncIterator[bytes]:
        for chunk in replay_chunks(text, chat.model, include_usage=chat.include_usage):
            yield sse(chunk)
        yield DONE

    async def _stream(self, chat: _Chat, plan: Plan | None, headers: dict[str, str],
                      vector: Any) -> GatewayAnswer:
        key = None if plan is None else _flight_key(chat, plan)
        flight = self._streams.get(key) if key is not None else None
        shared = flight is not None
        if flight is None:
            extra: dict[str, str] = {}

            def produce(emit: Callable[[dict[str, Any]], None]) -> Any:
                return self._pump(chat, plan, vector, extra, emit)

            flight = _StreamFlight(Broadcast(produce, on_done=lambda: self._forget(key, flight)),
                                   extra)
            if key is not None:
                self._streams[key] = flight
        listener = flight.chunks.listen()
        try:
            await listener.started()
        except BaseException:
            listener.close()
            raise
        headers.update(flight.headers)
        if shared:  # answered by an identical stream already in flight
            headers.update({"X-Vectorcache-Cache": "hit", "X-Vectorcache-Coalesced": "true"})
        return GatewayAnswer(headers, stream=self._listen(chat, listener, shared))

    def _forget(self, key: Hashable | None, flight: _StreamFlight | None) -> None:
        if key is not None and self._streams.get(key) is flight:
            del self._streams[key]

    async def _pump(self, chat: _Chat, plan: Plan | None, vector: Any, headers: dict[str, str],
                    emit: Callable[[dict[str, Any]], None]) -> _Streamed:
        """The provider's stream (``_relay``), unless another request was asking the provider
        the same prompt: then, once it has, the entry it stored, replayed."""
        if plan is None or not chat.shares_misses:
            return await self._relay(chat, plan, vector, headers, emit)
        async with self._cache.provider_turn(plan) as hit:
            if hit is None:
                return await self._relay(chat, plan, vector, headers, emit)
        headers.update({"X-Vectorcache-Cache": "hit", "X-Vectorcache-Coalesced": "true",
                        "X-Vectorcache-Entry-Id": hit.entry_id or "",
                        "X-Vectorcache-Tokens-Saved": str(hit.usage.total_tokens)})
        for chunk in replay_chunks(hit.response or "", chat.model,
                                   include_usage=chat.include_usage):
            emit(chunk)
        self._record(chat, "hit", entry_id=hit.entry_id, similarity=hit.similarity,
                     saved=hit.cost_saved, tokens=hit.usage.total_tokens, exact=hit.exact)
        return _Streamed(hit.usage, hit.entry_id)

    async def _relay(self, chat: _Chat, plan: Plan | None, vector: Any, headers: dict[str, str],
                     emit: Callable[[dict[str, Any]], None]) -> _Streamed:
        """Reads the provider's stream to its end (whoever listens), then stores the answer."""
        upstream = await self._upstream(chat)
        params = {**chat.params, "stream_options": {"include_usage": True}}
        chunks = upstream.stream(ChatRequest(chat.model, chat.messages, params))
        seen = _Relay()
        try:
            async for chunk in chunks:
                if not seen.chunks:
                    _fallback_header(upstream, headers)
                seen.add(chunk.data)
                emit(chunk.data)
            if not seen.chunks:
                raise UpstreamError("LLM provider error: Empty stream from the provider")
            if seen.finish is None:
                raise UpstreamError("LLM provider error: The stream ended before the answer "
                                    "was complete", code="upstream_stream_incomplete")
            entry_id = None
            if plan is not None and seen.cacheable and not _fallback_used(upstream):
                with anyio.CancelScope(shield=True):  # a store, once begun, completes
                    entry_id = await self._store_answer(chat, plan, seen.text, seen.usage,
                                                        upstream.name, vector)
            self._record(chat, "bypass" if plan is None else "miss", entry_id=entry_id,
                         usage=seen.usage)
            return _Streamed(seen.usage, entry_id)
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()

    async def _listen(self, chat: _Chat, listener: Listener[dict[str, Any], _Streamed],
                      shared: bool) -> AsyncIterator[bytes]:
        try:
            async for data in listener:
                if data.get("choices") or chat.include_usage:
                    yield sse(data)
            done = listener.result
            if shared and done is not None:
                self._record(chat, "hit", entry_id=done.entry_id, similarity=1.0,
                             saved=self._pricing.cost(chat.model, done.usage),
                             tokens=done.usage.total_tokens)
            yield DONE
        except UpstreamError as exc:
            yield error_event(exc.detail, exc.code)
        finally:
            listener.close()

    # ---------------------------------------------------------------- events
    def _record(self, chat: _Chat, kind: str, *, entry_id: str | None = None,
                similarity: float | None = None, saved: float = 0.0, tokens: int = 0,
                usage: Usage | None = None, exact: bool = False) -> None:
        project = chat.principal.project
        self._events.record(UsageEvent(
            project_id=project.id, kind=kind, entry_id=entry_id,
            key_id=chat.principal.key_id, user_hash=self._cache.user_hash(project, chat.user),
            similarity=similarity, latency_ms=elapsed_ms(chat.started),
            tokens=usage.total_tokens if usage else tokens,
            cost_usd=self._pricing.cost(chat.model, usage) if usage else 0.0,
            cost_saved_usd=saved, model=chat.model, exact=exact,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0))


def _flight_key(chat: _Chat, plan: Plan) -> Hashable:
    """Identical misses share one provider call only if they would also store alike."""
    return plan.exact_key, chat.can_store and not chat.control.no_store


def _fallback_header(upstream: Upstream, headers: dict[str, str]) -> None:
    if isinstance(upstream, FallbackUpstream) and upstream.fallback_used:
        headers["X-Fallback-Used"] = upstream.fallback_used
        headers["X-Vectorcache-Model"] = upstream.fallback_used


def _fallback_used(upstream: Upstream) -> bool:
    """A fallback model answered: its answer is not the requested model's to cache."""
    return isinstance(upstream, FallbackUpstream) and upstream.fallback_used is not None
