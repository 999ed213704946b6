"""The gateway's bodies in OpenAI's wire format, as models for the OpenAPI document.

The routes read the JSON themselves (unknown fields pass through to the provider, as the
``openai`` client expects), so these models mostly describe rather than parse: the fields a
request must carry and the shape of every answer. Both allow fields beyond those named.

The numbers and flags of a request (``ChatNumbers``, ``EmbeddingNumbers``) are parsed, by
``check_numbers``, strictly and within OpenAI's documented ranges, as the native routes parse
theirs (``bounds.py``): ``temperature: true``, ``top_p: "1"`` or ``n: 1.5`` is a 400 in
OpenAI's error shape, never a value passed on to the provider or into the cache's partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from vectorcache.api.errors import validation_message
from vectorcache.bounds import MAX_TOKENS, Finite
from vectorcache.errors import ValidationFailed

__all__ = [
    "ChatChoice", "ChatCompletion", "ChatCompletionRequest", "ChatMessage", "ChatNumbers",
    "ChatUsage", "Embedding", "EmbeddingList", "EmbeddingNumbers", "EmbeddingRequest", "Model",
    "ModelList", "check_numbers",
]

#: OpenAI's ranges (its API reference); integers are whole numbers, never ``true`` or ``1.0``
Temperature = Annotated[Finite, Field(ge=0, le=2)]
TopP = Annotated[Finite, Field(ge=0, le=1)]
Penalty = Annotated[Finite, Field(ge=-2, le=2)]
Bias = Annotated[Finite, Field(ge=-100, le=100)]
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=MAX_TOKENS)]
Choices = Annotated[int, Field(strict=True, ge=1, le=128)]
TopLogprobs = Annotated[int, Field(strict=True, ge=0, le=20)]
TopK = Annotated[int, Field(strict=True, ge=0, le=MAX_TOKENS)]
Dimensions = Annotated[int, Field(strict=True, ge=1, le=65_536)]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def check_numbers(model: type[BaseModel], body: Mapping[str, Any]) -> None:
    """Raise ``ValidationFailed`` (400, naming the field) unless ``body``'s numbers and flags
    are what ``model`` declares; every other field is left to the route."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        message, field = validation_message(list(exc.errors(include_url=False)))
        raise ValidationFailed(message, param=field) from None


class StreamOptions(_Open):
    include_usage: StrictBool | None = None


class ChatNumbers(_Open):
    """The numbers and flags of a chat request, parsed (``check_numbers``)."""

    stream: StrictBool | None = Field(default=False, description="Answer as server-sent "
                                                                  "events.")
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    n: Choices | None = Field(default=None, description="More than 1: answered, never cached.")
    seed: StrictInt | None = None
    top_k: TopK | None = Field(default=None, description="Passed to providers that take it.")
    logprobs: StrictBool | None = Field(default=None,
                                        description="true: answered, never cached.")
    top_logprobs: TopLogprobs | None = None
    logit_bias: dict[str, Bias] | None = None


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = Field(
        default=None, description="Text; a list of parts is answered but never cached "
                                  "unless every part is text.")
    name: str | None = None


class ChatCompletionRequest(ChatNumbers):
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
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


class EmbeddingNumbers(_Open):
    """The numbers of an embeddings request, parsed (``check_numbers``)."""

    dimensions: Dimensions | None = Field(default=None,
                                          description="The local model's own, if given.")


class EmbeddingRequest(EmbeddingNumbers):
    input: str | list[str] = Field(description="Text or texts (token arrays unsupported).")
    model: str = Field(description="Any name: the local model answers, and says so.")
    encoding_format: Literal["float", "base64"] | None = None


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
