"""Request bodies of the native API, with the documented error messages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from vectorcache.bounds import Finite, OlderThanHours, Tokens, TtlSeconds
from vectorcache.models import Usage
from vectorcache.service.requests import CacheRequest, StoreRequest

__all__ = ["ClearBody", "FeedbackBody", "MessageIn", "QueryBody", "StoreBody"]


def _between(name: str, low: float, high: float, value: float | None) -> float | None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Any = None


class _PromptInput(BaseModel):
    """What was asked: a prompt (``query`` is the TypeScript SDK's name) or a chat."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = None
    query: str | None = None
    messages: list[MessageIn] | None = None
    project_id: str | None = None

    def prompt_text(self) -> str | None:
        return self.prompt if self.prompt is not None else self.query

    def message_dicts(self) -> list[dict[str, Any]] | None:
        return None if self.messages is None else [m.model_dump() for m in self.messages]


class _PromptFields(_PromptInput):
    model: str | None = Field(default=None, max_length=200)
    context: str | None = Field(default=None, max_length=32_000)
    metadata: dict[str, Any] | None = None
    user: str | None = Field(default=None, max_length=256)
    max_tokens: StrictInt | None = None
    temperature: Finite | None = None

    @field_validator("max_tokens")
    @classmethod
    def _max_tokens(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= 4000:
            raise ValueError("max_tokens must be between 1 and 4000")
        return v

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, v: float | None) -> float | None:
        return _between("temperature", 0, 2, v)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in (("max_tokens", self.max_tokens),
                                  ("temperature", self.temperature)) if v is not None}


class QueryBody(_PromptFields):
    similarity_threshold: Finite | None = None
    include_debug: StrictBool = False

    @field_validator("similarity_threshold")
    @classmethod
    def _threshold(cls, v: float | None) -> float | None:
        return _between("similarity_threshold", 0, 1, v)

    def to_request(self) -> CacheRequest:
        return CacheRequest(
            prompt=self.prompt_text(), messages=self.message_dicts(), model=self.model,
            context=self.context, similarity_threshold=self.similarity_threshold,
            include_debug=self.include_debug, params=self.params(), metadata=self.metadata,
            user=self.user,
        )


class UsageIn(BaseModel):
    prompt_tokens: Tokens = 0
    completion_tokens: Tokens = 0


class StoreBody(_PromptFields):
    response: str = Field(max_length=1_000_000)
    ttl_seconds: TtlSeconds | None = None
    usage: UsageIn | None = None

    def to_request(self) -> StoreRequest:
        usage = self.usage or UsageIn()
        return StoreRequest(
            prompt=self.prompt_text(), messages=self.message_dicts(), response=self.response,
            model=self.model, context=self.context, params=self.params(),
            metadata=self.metadata, user=self.user, ttl_seconds=self.ttl_seconds,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens),
        )


class FeedbackBody(_PromptInput):
    """The prompt a hit answered (``prompt``/``query``, or the chat's ``messages``), the entry
    that answered it (the response's ``cache_entry_id`` or the gateway's
    ``X-Vectorcache-Entry-Id``), and whether the answer was right. Other fields of the
    original request (model, context, sampling) may be sent along and are ignored: the entry
    id already names the partition."""

    cache_entry_id: str = Field(min_length=1, max_length=64)
    correct: StrictBool


class ClearBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project_id: str | None = None
    expired_only: StrictBool = False
    older_than_hours: OlderThanHours | None = None
