"""The gateway's bodies in OpenAI's wire format, as models for the OpenAPI document.

The routes read the JSON themselves (unknown fields pass through to the provider, as the
``openai`` client expects), so these models describe rather than parse: the fields a request
must carry and the shape of every answer. Both allow fields beyond those named.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatChoice", "ChatCompletion", "ChatCompletionRequest", "ChatMessage", "ChatUsage",
    "Embedding", "EmbeddingList", "EmbeddingRequest", "Model", "ModelList",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = Field(
        default=None, description="Text; a list of parts is answered but never cached "
                                  "unless every part is text.")
    name: str | None = None


class ChatCompletionRequest(_Open):
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = Field(default=False, description="Answer as server-sent events.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=1)
    stop: str | list[str] | None = None
    user: str | None = Field(default=None, max_length=256,
                             description="End-user id (per-user erase, export and scope).")


class ChatUsage(_Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatChoice(_Open):
    index: int
    message: ChatMessage
    finish_reason: str | None


class ChatCompletion(_Open):
    """A hit is answered in the same shape as a miss (``X-Vectorcache-Cache`` says which)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage | None = None


class EmbeddingRequest(_Open):
    input: str | list[str] = Field(description="Text or texts (token arrays unsupported).")
    model: str = Field(description="Any name: the local model answers, and says so.")
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None


class Embedding(_Open):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str


class EmbeddingList(_Open):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: dict[str, int]


class Model(_Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(_Open):
    object: Literal["list"]
    data: list[Model]
