"""The ``Upstream`` interface: an LLM provider behind one shape, whatever its wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from vectorcache.models import Usage

__all__ = ["ChatRequest", "Completion", "StreamChunk", "Upstream"]


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    #: sampling and other provider parameters, passed through as given
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    finish_reason: str | None
    #: the provider's answer in OpenAI's chat.completion shape
    raw: dict[str, Any]
    refusal: str | None = None
    has_tool_calls: bool = False
    #: the fallback model that answered instead of the one asked (``upstream/fallback.py``)
    fallback_model: str | None = None

    @property
    def cacheable(self) -> bool:
        """Only a complete, plain-text answer of the model asked is worth storing (a fallback
        model's answer, stored under the model asked, would later be served as its)."""
        return (self.finish_reason in ("stop", "end_turn", None) and not self.has_tool_calls
                and self.refusal is None and bool(self.text.strip())
                and self.fallback_model is None)


@dataclass(frozen=True)
class StreamChunk:
    """One server-sent event's JSON payload in OpenAI's chat.completion.chunk shape."""

    data: dict[str, Any]


class Upstream(Protocol):
    name: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]: ...
