"""A real HTTP server on loopback that speaks Anthropic's Messages API (``POST /v1/messages``).

Like ``FakeProvider``: it counts calls, checks ``x-api-key`` and ``anthropic-version``, streams
Anthropic's SSE events (``message_start``, ``content_block_*``, ``message_delta``,
``message_stop``, ``ping``) and misbehaves on request. Prompt markers: ``[[status:N]]``,
``[[cut]]`` (stream breaks half-way), ``[[length]]`` (``stop_reason: max_tokens``),
``[[drip:S]]`` (S seconds between stream events). ``failing_models`` maps a model name to the
HTTP status it always answers (for fallback tests).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vectorcache.testing.fake_provider import FakeProvider
from vectorcache.testing.loopback import LoopbackServer

__all__ = ["FakeAnthropic"]

_MARK = re.compile(r"\[\[(\w+)(?::([\w.]+))?\]\]")
VERSION = "2023-06-01"


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}},
                        status_code=status)


class FakeAnthropic(LoopbackServer):
    """``with FakeAnthropic(api_key="sk-ant-test") as a: ... a.base_url, a.calls``"""

    name = "fake-anthropic"

    def __init__(self, api_key: str | None = "sk-ant-test", *,
                 failing_models: dict[str, int] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.failing_models = dict(failing_models or {})
        self.base_url = f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[Route]:
        return [Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"])]

    def _refusal(self, request: Request) -> Response | None:
        if request.headers.get("anthropic-version") != VERSION:
            return _error(400, "invalid_request_error", "anthropic-version header is required")
        if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        return None

    async def _models(self, request: Request) -> Response:
        refused = self._refusal(request)
        return refused or JSONResponse({"data": [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in ("claude-sonnet-4-5", "claude-haiku-4-5")], "has_more": False})

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        self.count(body)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if not isinstance(body.get("max_tokens"), int):
            return _error(400, "invalid_request_error", "max_tokens: Field required")
        if any(m.get("role") not in ("user", "assistant") for m in body.get("messages", [])):
            return _error(400, "invalid_request_error", "messages: roles must be user/assistant")
        model = str(body.get("model"))
        if model in self.failing_models:
            return _error(self.failing_models[model], "api_error", "fake model failure")
        marks = dict(_MARK.findall(json.dumps(body.get("messages"))))
        if "status" in marks:
            return _error(int(marks["status"]), "api_error", "fake failure")
        text = FakeProvider.answer_for(body.get("messages") or [])
        stop = "max_tokens" if "length" in marks else "end_turn"
        usage = {"input_tokens": sum(len(str(m.get("content", "")).split())
                                     for m in body.get("messages", [])),
                 "output_tokens": len(text.split())}
        mid = f"msg_{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            return StreamingResponse(
                self._stream(mid, model, text, stop, usage, cut="cut" in marks,
                             drip=float(marks.get("drip", 0))),
                media_type="text/event-stream")
        return JSONResponse({"id": mid, "type": "message", "role": "assistant", "model": model,
                             "content": [{"type": "text", "text": text}],
                             "stop_reason": stop, "stop_sequence": None, "usage": usage})

    async def _stream(self, mid: str, model: str, text: str, stop: str,
                      usage: dict[str, int], cut: bool, drip: float) -> AsyncIterator[bytes]:
        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        yield event("message_start", {"message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "usage": {"input_tokens": usage["input_tokens"],
                                           "output_tokens": 1}}})
        yield event("content_block_start", {"index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        yield event("ping", {})
        words = text.split(" ")
        for i, word in enumerate(words):
            if drip:
                await asyncio.sleep(drip)
            yield event("content_block_delta", {"index": 0, "delta": {
                "type": "text_delta", "text": word if i == 0 else " " + word}})
            if cut and i >= len(words) // 2:
                raise ConnectionResetError("fake Anthropic server cut the stream")
        yield event("content_block_stop", {"index": 0})
        yield event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": usage["output_tokens"]}})
        yield event("message_stop", {})
