"""OpenAI-compatible chat completions (OpenAI, Azure OpenAI, Groq, vLLM, Ollama, ...) over httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from vectorcache.errors import UpstreamError
from vectorcache.models import Usage
from vectorcache.upstream.base import ChatRequest, Completion, StreamChunk
from vectorcache.upstream.provider_errors import provider_error

__all__ = ["DEFAULT_OPENAI_BASE_URL", "OpenAICompatible", "provider_error"]

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


def transport_error(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        error = UpstreamError("LLM provider error: Request timed out", code="upstream_timeout")
        # only a request that was sent can have been worked on (and billed)
        error.may_have_billed = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        return error
    error = UpstreamError("LLM provider error: Could not reach the provider",
                          code="upstream_unreachable")
    error.may_have_billed = not isinstance(exc, httpx.ConnectError)
    return error


def completion_from_json(data: dict[str, Any]) -> Completion:
    try:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        return Completion(
            text=message.get("content") or "",
            usage=Usage(int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0)),
            model=str(data.get("model") or ""),
            finish_reason=choice.get("finish_reason"),
            raw=data,
            refusal=message.get("refusal"),
            has_tool_calls=bool(message.get("tool_calls") or message.get("function_call")),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise UpstreamError("LLM provider error: Malformed response from the provider") from exc


class OpenAICompatible:
    """One provider endpoint; shares the runtime's HTTP connection pool."""

    def __init__(self, client: httpx.AsyncClient, *, api_key: str | None,
                 base_url: str | None, name: str = "openai") -> None:
        self._client = client
        self._api_key = api_key
        self._base = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self.name = name

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {**request.params, "model": request.model,
                                "messages": request.messages}
        if stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    async def complete(self, request: ChatRequest) -> Completion:
        try:
            response = await self._client.post(
                f"{self._base}/chat/completions", headers=self._headers(),
                json=self._body(request, stream=False))
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code != 200:
            raise provider_error(response.status_code, response.content, response.headers)
        try:
            data = response.json()
        except ValueError:
            raise UpstreamError("LLM provider error: Malformed response from the provider") \
                from None
        return completion_from_json(data)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        try:
            async with self._client.stream(
                "POST", f"{self._base}/chat/completions", headers=self._headers(),
                json=self._body(request, stream=True),
            ) as response:
                if response.status_code != 200:
                    raise provider_error(response.status_code, await response.aread(),
                                         response.headers)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    try:
                        yield StreamChunk(json.loads(payload))
                    except ValueError:
                        raise UpstreamError(
                            "LLM provider error: Malformed stream from the provider") from None
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
