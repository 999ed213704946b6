"""LLM providers behind the ``Upstream`` interface, chosen per project by provider name."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from vectorcache.errors import UpstreamError
from vectorcache.models import ProviderConfig
from vectorcache.upstream.anthropic import AnthropicMessages
from vectorcache.upstream.base import ChatRequest, Completion, StreamChunk, Upstream
from vectorcache.upstream.fallback import FallbackUpstream
from vectorcache.upstream.openai_compat import OpenAICompatible

__all__ = [
    "ADAPTERS",
    "ChatRequest",
    "Completion",
    "FallbackUpstream",
    "StreamChunk",
    "Upstream",
    "build_upstream",
]


def _openai(client: httpx.AsyncClient, config: ProviderConfig) -> Upstream:
    return OpenAICompatible(client, api_key=config.api_key, base_url=config.base_url,
                            name=config.provider)


def _anthropic(client: httpx.AsyncClient, config: ProviderConfig) -> Upstream:
    return AnthropicMessages(client, api_key=config.api_key, base_url=config.base_url,
                             name=config.provider)


#: provider name -> adapter; every OpenAI-compatible service uses the same adapter
ADAPTERS: dict[str, Callable[[httpx.AsyncClient, ProviderConfig], Upstream]] = {
    **{name: _openai for name in ("openai", "azure", "groq", "vllm", "ollama",
                                  "openai-compatible")},
    "anthropic": _anthropic,
}


def build_upstream(client: httpx.AsyncClient, config: ProviderConfig | None) -> Upstream:
    if config is None:
        error = UpstreamError(
            "LLM provider error: No provider key configured for this project. Set one with "
            "'vectorcache providers set --project NAME --provider openai' (key on stdin).",
            code="provider_not_configured",
        )
        error.may_have_billed = False
        raise error
    try:
        make = ADAPTERS[config.provider]
    except KeyError:
        raise UpstreamError(f"LLM provider error: Unknown provider {config.provider!r}") from None
    upstream = make(client, config)
    if config.fallback_models:  # on timeout/5xx, the next model (X-Fallback-Used)
        return FallbackUpstream(upstream, config.fallback_models)
    return upstream
