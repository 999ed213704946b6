"""OpenAI's chat-completion shapes, built from a cached answer: the whole object, or its stream.

A hit is answered in the same shape as a miss. ``usage`` on a hit reports what this request
cost at the provider: nothing (all zeros); the tokens the stored answer originally took are
sent as the ``X-Vectorcache-Tokens-Saved`` header instead.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

__all__ = [
    "DONE",
    "chat_completion",
    "completion_id",
    "error_event",
    "replay_chunks",
    "split_text",
    "sse",
]

DONE = b"data: [DONE]\n\n"
_PIECES = re.compile(r"\s*\S+\s*|\s+")


def sse(payload: dict[str, Any]) -> bytes:
    """One server-sent event carrying a JSON payload."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def error_event(message: str, code: str, type_: str = "server_error") -> bytes:
    """What a stream says when its provider fails half-way (the ``openai`` client raises)."""
    return sse({"error": {"message": message, "type": type_, "code": code, "param": None}})


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _zero_usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def chat_completion(text: str, model: str) -> dict[str, Any]:
    """A cached answer as a ``chat.completion`` object."""
    return {
        "id": completion_id(), "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": _zero_usage(), "system_fingerprint": None,
    }


def split_text(text: str, words_per_chunk: int = 4) -> list[str]:
    """Lossless pieces of ``text`` (joined, they give ``text`` back exactly)."""
    words = _PIECES.findall(text)
    pieces = ["".join(words[i:i + words_per_chunk])
              for i in range(0, len(words), words_per_chunk)]
    assert "".join(pieces) == text
    return pieces


def replay_chunks(text: str, model: str, *, include_usage: bool) -> list[dict[str, Any]]:
    """A cached answer as the ``chat.completion.chunk`` objects a provider would stream:
    role, content pieces, finish, and (``stream_options.include_usage``) a usage chunk."""
    base = {"id": completion_id(), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "system_fingerprint": None}
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}], **extra}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in split_text(text)]
    chunks.append(chunk({}, "stop"))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _zero_usage()})
    return chunks
