"""Anthropic's Messages API behind the ``Upstream`` interface.

Requests arrive in OpenAI's chat shape and answers leave in it (``chat.completion`` and
``chat.completion.chunk``), so the cache and the gateway never see Anthropic's wire format.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from vectorcache.errors import NotCacheable, UpstreamError
from vectorcache.models import Usage
from vectorcache.upstream.base import ChatRequest, Completion, StreamChunk
from vectorcache.upstream.openai_compat import provider_error, transport_error

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_ANTHROPIC_BASE_URL",
    "FINISH_REASONS",
    "AnthropicMessages",
    "to_anthropic",
]

DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024

#: Anthropic stop_reason -> OpenAI finish_reason
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "tool_use": "tool_calls", "refusal": "content_filter",
                  "pause_turn": "length"}

#: OpenAI parameter -> Anthropic parameter (everything else is not sent)
_PARAMS = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
           "max_tokens": "max_tokens", "max_completion_tokens": "max_tokens",
           "stop": "stop_sequences", "metadata": "metadata"}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def to_anthropic(request: ChatRequest) -> dict[str, Any]:
    """An OpenAI-shaped chat request as a Messages API body (system turns become ``system``)."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role in ("user", "assistant"):
            messages.append({"role": role, "content": _text(message.get("content"))})
        else:
            raise NotCacheable(f"Role {role!r} is not supported by the Anthropic adapter",
                               code="unsupported_role")
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if system:
        body["system"] = "\n\n".join(system)
    for name, value in request.params.items():
        target = _PARAMS.get(name)
        if target is None or value is None:
            continue
        if target == "stop_sequences" and isinstance(value, str):
            value = [value]
        if target == "metadata":
            value = {"user_id": value["user_id"]} if isinstance(value, dict) \
                and "user_id" in value else None
            if value is None:
                continue
        body[target] = value
    body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    return body


def _chat_completion(data: dict[str, Any], model: str) -> dict[str, Any]:
    text = "".join(b.get("text", "") for b in data.get("content") or []
                   if b.get("type") == "text")
    tool_calls = [{"id": b.get("id"), "type": "function",
                   "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input"))}}
                  for b in data.get("content") or [] if b.get("type") == "tool_use"]
    usage = data.get("usage") or {}
    prompt, completion = int(usage.get("input_tokens") or 0), int(
        usage.get("output_tokens") or 0)
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-" + str(data.get("id") or "").removeprefix("msg_"),
        "object": "chat.completion", "created": int(time.time()),
        "model": str(data.get("model") or model),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": FINISH_REASONS.get(str(data.get("stop_reason")),
                                                         "stop")}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }


class _StreamState:
    """Anthropic SSE events in, OpenAI ``chat.completion.chunk`` payloads out."""

    def __init__(self, model: str) -> None:
        self.id = "chatcmpl-"
        self.model = model
        self.created = int(time.time())
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [{"index": 0, "delta": delta,
                                                  "logprobs": None, "finish_reason": finish}]}

    def translate(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        if event == "message_start":
            message = data.get("message") or {}
            self.id = "chatcmpl-" + str(message.get("id") or "").removeprefix("msg_")
            self.model = str(message.get("model") or self.model)
            self.prompt_tokens = int((message.get("usage") or {}).get("input_tokens") or 0)
            return [self.chunk({"role": "assistant", "content": ""})]
        if event == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                return [self.chunk({"tool_calls": [{
                    "index": 0, "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""}}]})]
            return []
        if event == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self.chunk({"content": str(delta.get("text", ""))})]
            if delta.get("type") == "input_json_delta":
                return [self.chunk({"tool_calls": [{"index": 0, "function": {
                    "arguments": str(delta.get("partial_json", ""))}}]})]
            return []
        if event == "message_delta":
            self.completion_tokens = int((data.get("usage") or {}).get("output_tokens") or 0)
            reason = (data.get("delta") or {}).get("stop_reason")
            return [self.chunk({}, FINISH_REASONS.get(str(reason), "stop"))]
        if event == "message_stop":
            usage = {"prompt_tokens": self.prompt_tokens,
                     "completion_tokens": self.completion_tokens,
                     "total_tokens": self.prompt_tokens + self.completion_tokens}
            return [{**self.chunk({}), "choices": [], "usage": usage}]
        if event == "error":
            error = data.get("error") or {}
            raise UpstreamError(f"LLM provider error: {error.get('message') or 'stream error'}"
                                [:300], code="upstream_stream_error")
        return []  # ping, content_block_stop, unknown future events


class AnthropicMessages:
    """``POST {base}/messages`` with ``x-api-key`` and ``anthropic-version``."""

    def __init__(self, client: httpx.AsyncClient, *, api_key: str | None,
                 base_url: str | None, name: str = "anthropic") -> None:
        self._client = client
        self._api_key = api_key
        base = (base_url or DEFAULT_ANTHROPIC_BASE_URL).rstrip("/")
        self._base = base if base.endswith("/v1") else base + "/v1"
        self.name = name

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        return headers

    async def list_models(self) -> list[str]:
        try:
            response = await self._client.get(f"{self._base}/models", headers=self._headers())
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code != 200:
            raise provider_error(response.status_code, response.content)
        return [str(m["id"]) for m in response.json().get("data") or [] if "id" in m]

    async def complete(self, request: ChatRequest) -> Completion:
        try:
            response = await self._client.post(f"{self._base}/messages", headers=self._headers(),
                                               json=to_anthropic(request))
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code != 200:
            raise provider_error(response.status_code, response.content, response.headers)
        try:
            raw = _chat_completion(response.json(), request.model)
        except (ValueError, AttributeError, TypeError) as exc:
            raise UpstreamError("LLM provider error: Malformed response from the provider") \
                from exc
        choice, usage = raw["choices"][0], raw["usage"]
        return Completion(text=choice["message"]["content"] or "",
                          usage=Usage(usage["prompt_tokens"], usage["completion_tokens"]),
                          model=raw["model"], finish_reason=choice["finish_reason"], raw=raw,
                          has_tool_calls="tool_calls" in choice["message"])

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        body = {**to_anthropic(request), "stream": True}
        state = _StreamState(request.model)
        try:
            async with self._client.stream("POST", f"{self._base}/messages",
                                           headers=self._headers(), json=body) as response:
                if response.status_code != 200:
                    raise provider_error(response.status_code, await response.aread(),
                                         response.headers)
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        try:
                            data = json.loads(line[5:].strip())
                        except ValueError:
                            raise UpstreamError("LLM provider error: Malformed stream from "
                                                "the provider") from None
                        for chunk in state.translate(event or str(data.get("type")), data):
                            yield StreamChunk(chunk)
                        if (event or data.get("type")) == "message_stop":
                            return
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
