"""A real HTTP server on loopback that speaks OpenAI's chat-completions wire format.

Tests (and benchmarks) start it instead of a real provider. It counts calls, checks the
provider key, streams as server-sent events, and fails on request when a prompt carries a
marker: ``[[status:503]]`` answers that status, ``[[sleep:2.5]]`` waits before answering,
``[[sleep_first:30]]`` only the first time these messages come (a caller that dies waiting),
``[[cut]]`` breaks a stream half-way, ``[[drip:0.05]]`` waits that long between stream chunks,
``[[length]]`` ends with ``finish_reason: length``,
``[[tool]]`` answers with a tool call. With ``[[status:N]]``, ``[[code:C]]`` sets the error's
``code`` (e.g. ``context_length_exceeded``) and ``[[retry:S]]`` sends ``Retry-After: S`` (a
429's). ``failing_models`` maps a model name to the HTTP status it always answers (for
fallback tests).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vectorcache.testing.loopback import LoopbackServer

__all__ = ["FakeProvider"]

_MARK = re.compile(r"\[\[(\w+)(?::([\w.]+))?\]\]")


class FakeProvider(LoopbackServer):
    """``with FakeProvider(api_key="sk-test") as p: ... p.base_url, p.calls``"""

    name = "fake-provider"

    def __init__(self, api_key: str | None = "sk-test", *, chunk_words: int = 1,
                 failing_models: dict[str, int] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.chunk_words = chunk_words
        self.failing_models = dict(failing_models or {})
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[Route]:
        return [Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"])]

    # ---------------------------------------------------------------- behaviour
    @staticmethod
    def answer_for(messages: list[dict[str, Any]]) -> str:
        last: dict[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = _MARK.sub("", str(content or "")).strip()
        return f"Answer to: {text}"

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
            for m in ("gpt-4o", "gpt-4o-mini")]})

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.count(body)
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Incorrect API key provided: sk-***",
                                           "type": "invalid_request_error",
                                           "code": "invalid_api_key"}}, status_code=401)
        messages = body.get("messages") or []
        marks = dict(_MARK.findall(json.dumps(messages)))
        if "sleep" in marks:
            await asyncio.sleep(float(marks["sleep"]))
        if "sleep_first" in marks and self.seen(messages) == 1:
            await asyncio.sleep(float(marks["sleep_first"]))
        failing = self.failing_models.get(str(body.get("model")))
        if "status" in marks or failing is not None:
            status = int(marks.get("status") or failing or 500)
            error = {"message": f"fake failure {status}", "type": "server_error",
                     "code": marks.get("code")}
            headers = {"Retry-After": marks["retry"]} if "retry" in marks else None
            return JSONResponse({"error": error}, status_code=status, headers=headers)
        text = self.answer_for(messages)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                 "total_tokens": prompt_tokens + len(text.split())}
        finish = "length" if "length" in marks else "stop"
        model = body.get("model", "unknown")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._stream(text, model, finish, usage if include_usage else None,
                             cut="cut" in marks, drip=float(marks.get("drip") or 0)),
                media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if "tool" in marks:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": "{}"}}]}
            finish = "tool_calls"
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": usage, "system_fingerprint": "fp_fake",
        })

    async def _stream(self, text: str, model: str, finish: str,
                      usage: dict[str, int] | None, cut: bool,
                      drip: float = 0.0) -> AsyncIterator[bytes]:
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None,
                  extra: dict[str, Any] | None = None) -> bytes:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created,
                       "model": model, "system_fingerprint": "fp_fake",
                       "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish_reason}], **(extra or {})}
            return f"data: {json.dumps(payload)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""}, None)
        words = text.split(" ")
        for i in range(0, len(words), self.chunk_words):
            piece = " ".join(words[i:i + self.chunk_words])
            if drip:
                await asyncio.sleep(drip)
            yield chunk({"content": piece if i == 0 else " " + piece}, None)
            if cut and i >= len(words) // 2:
                raise ConnectionResetError("fake provider cut the stream")
        yield chunk({}, finish)
        if usage is not None:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created,
                       "model": model, "choices": [], "usage": usage}
            yield f"data: {json.dumps(payload)}\n\n".encode()
        yield b"data: [DONE]\n\n"
