"""LLM providers behind the ``Upstream`` interface, chosen per project by provider name."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from vectorcache.errors import UpstreamError
from vectorcache.models import ProviderConfig
from vectorcache.upstream.base import ChatRequest, Completion, StreamChunk, Upstream
from vectorcache.upstream.openai_compat import OpenAICompatible

__all__ = ["ChatRequest", "Completion", "StreamChunk", "Upstream", "build_upstream", "ADAPTERS"]


def _openai(client: httpx.AsyncClient, config: ProviderConfig) -> Upstream:
    return OpenAICompatible(client, api_key=config.api_key, base_url=config.base_url,
                            name=config.provider)


#: provider name -> adapter; every OpenAI-compatible service uses the same adapter
ADAPTERS: dict[str, Callable[[httpx.AsyncClient, ProviderConfig], Upstream]] = {
    name: _openai for name in ("openai", "azure", "groq", "vllm", "ollama", "openai-compatible")
}


def build_upstream(client: httpx.AsyncClient, config: ProviderConfig | None) -> Upstream:
    if config is None:
        raise UpstreamError(
            "LLM provider error: No provider key configured for this project. Set one with "
            "'vectorcache providers set --project NAME --provider openai' (key on stdin).",
            code="provider_not_configured",
        )
    try:
        make = ADAPTERS[config.provider]
    except KeyError:
        raise UpstreamError(f"LLM provider error: Unknown provider {config.provider!r}") from None
    return make(client, config)
