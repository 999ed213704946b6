"""From a request to what is matched: the text to embed, and the conversation it belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vectorcache.errors import NotCacheable, ValidationFailed

__all__ = ["PromptView", "resolve_prompt", "text_of"]

_ROLES = ("system", "user", "assistant", "developer")


@dataclass(frozen=True)
class PromptView:
    #: the text matched semantically: the prompt, or the last user turn of a chat
    text: str
    #: every turn before it (system prompt included): part of the partition, hashed
    history: tuple[dict[str, str], ...]
    #: what is sent to the provider
    messages: list[dict[str, Any]]
    #: personal data was redacted from ``text`` (``pii_policy: redact``)
    redacted: bool = False


def text_of(content: Any) -> str:
    """The text of a message's content; non-text parts make a request uncacheable."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise NotCacheable("Only text content can be cached", code="non_text_content")
            parts.append(str(part.get("text", "")))
        return "".join(parts)
    if content is None:
        return ""
    raise ValidationFailed("Invalid message content", param="messages")


def resolve_prompt(prompt: str | None, messages: Sequence[dict[str, Any]] | None,
                   max_chars: int) -> PromptView:
    if messages:
        turns = []
        for i, message in enumerate(messages):
            role = message.get("role")
            if role not in _ROLES and role != "tool":
                raise ValidationFailed(f"Invalid role in messages[{i}]: {role!r}",
                                       param="messages")
            if role == "tool" or message.get("tool_calls"):
                raise NotCacheable("Tool calls are not cached", code="tool_calls")
            turns.append({"role": str(role), "content": text_of(message.get("content"))})
        if turns[-1]["role"] != "user":
            raise ValidationFailed("The last message must have role 'user'", param="messages")
        text = turns[-1]["content"]
        history = tuple(turns[:-1])
        outgoing = [dict(m) for m in messages]
    elif prompt is not None:
        text, history = prompt, ()
        outgoing = [{"role": "user", "content": prompt}]
    else:
        raise ValidationFailed("Field required: prompt", param="prompt")
    if not text.strip():
        raise ValidationFailed("prompt must not be empty", param="prompt")
    if len(text) > max_chars:
        raise ValidationFailed(f"prompt must be at most {max_chars} characters", param="prompt")
    return PromptView(text=text, history=history, messages=outgoing)
