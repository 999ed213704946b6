"""The models a provider offers (``GET /models``), for the gateway's ``/v1/models``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from vectorcache.models import ProviderConfig
from vectorcache.upstream.anthropic import AnthropicMessages
from vectorcache.upstream.openai_compat import (
    DEFAULT_OPENAI_BASE_URL,
    provider_error,
    transport_error,
)

__all__ = ["provider_models"]


async def _openai_models(client: httpx.AsyncClient, config: ProviderConfig) -> list[str]:
    base = (config.base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    try:
        response = await client.get(f"{base}/models", headers=headers)
    except httpx.HTTPError as exc:
        raise transport_error(exc) from None
    if response.status_code != 200:
        raise provider_error(response.status_code, response.content)
    return [str(m["id"]) for m in response.json().get("data") or [] if "id" in m]


async def _anthropic_models(client: httpx.AsyncClient, config: ProviderConfig) -> list[str]:
    return await AnthropicMessages(client, api_key=config.api_key,
                                   base_url=config.base_url).list_models()


_LISTERS: dict[str, Callable[[httpx.AsyncClient, ProviderConfig], Awaitable[list[str]]]] = {
    "anthropic": _anthropic_models,
}


async def provider_models(client: httpx.AsyncClient, config: ProviderConfig) -> list[str]:
    """The provider's model ids; raises ``UpstreamError`` when it cannot be asked."""
    return await _LISTERS.get(config.provider, _openai_models)(client, config)
