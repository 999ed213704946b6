"""``/v1/models`` and ``/v1/embeddings`` for the OpenAI-compatible gateway.

Models: what the key may use. A key or project with an allow-list lists exactly that list;
otherwise the provider's own ``/models`` (the project's default, configured and fallback
models when the provider cannot be asked). Embeddings always come from the local model,
whatever ``model`` the request names; the response says which model made them.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np

from vectorcache.embeddings import Embedder
from vectorcache.errors import UpstreamError, ValidationFailed
from vectorcache.service.auth import Principal
from vectorcache.store import Store
from vectorcache.upstream.models import provider_models

__all__ = ["MAX_EMBEDDING_INPUTS", "embeddings", "list_models"]

log = logging.getLogger("vectorcache.gateway")
MAX_EMBEDDING_INPUTS = 2048


def _model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


async def list_models(principal: Principal, store: Store,
                      http: httpx.AsyncClient) -> dict[str, Any]:
    project = principal.project
    allowed = (principal.key.models if principal.key else ()) or project.allowed_models
    config = await store.get_provider(project.id)
    owner = config.provider if config else "vectorcache"
    ids: list[str] = list(allowed)
    if not ids and config is not None:
        try:
            ids = await provider_models(http, config)
        except (UpstreamError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("provider model list unavailable for project %s", project.id)
    if not ids:
        ids = [m for m in (project.default_model,
                           *(config.models if config else ()),
                           *(config.fallback_models if config else ())) if m]
    unique = list(dict.fromkeys(ids))
    return {"object": "list", "data": [_model(m, owner) for m in unique]}


def _inputs(body: Mapping[str, Any], max_chars: int) -> list[str]:
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts \
            or not all(isinstance(t, str) for t in texts):
        raise ValidationFailed("input must be a non-empty string or array of strings "
                               "(token arrays are not supported)", param="input")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise ValidationFailed(f"input must have at most {MAX_EMBEDDING_INPUTS} items",
                               param="input")
    for text in texts:
        if not text.strip():
            raise ValidationFailed("input must not contain empty strings", param="input")
        if len(text) > max_chars:
            raise ValidationFailed(f"each input must be at most {max_chars} characters",
                                   param="input")
    return texts


async def embeddings(body: Mapping[str, Any], embedder: Embedder,
                     max_chars: int) -> dict[str, Any]:
    texts = _inputs(body, max_chars)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise ValidationFailed("encoding_format must be 'float' or 'base64'",
                               param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != embedder.dims:
        raise ValidationFailed(f"dimensions must be {embedder.dims} for {embedder.model_id}",
                               param="dimensions")
    vectors = np.asarray(await embedder.embed(texts), dtype=np.float32)
    data = []
    for i, vector in enumerate(vectors):
        value: Any = (base64.b64encode(vector.astype("<f4").tobytes()).decode()
                      if encoding == "base64" else [float(x) for x in vector])
        data.append({"object": "embedding", "index": i, "embedding": value})
    tokens = sum(len(t.split()) for t in texts)  # an estimate: whitespace words
    return {"object": "list", "data": data, "model": embedder.model_id,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
