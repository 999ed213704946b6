"""Pick the encoder by settings (a mapping, not an if-chain)."""

from __future__ import annotations

from collections.abc import Callable

from vectorcache.embeddings.base import Embedder, Encoder
from vectorcache.embeddings.batching import BatchingEmbedder
from vectorcache.errors import ConfigurationError
from vectorcache.settings import Settings

__all__ = ["ENCODERS", "build_embedder", "build_encoder"]


def _onnx(settings: Settings) -> Encoder:
    from vectorcache.embeddings.onnx import OnnxEncoder  # onnxruntime only when chosen

    return OnnxEncoder(settings.embedding_model)


def _reference(settings: Settings) -> Encoder:
    from vectorcache.embeddings.reference import ReferenceEncoder  # imports torch: ~6 s

    return ReferenceEncoder()


ENCODERS: dict[str, Callable[[Settings], Encoder]] = {
    "onnx": _onnx,
    "reference": _reference,
}


def build_encoder(settings: Settings) -> Encoder:
    try:
        make = ENCODERS[settings.embedding_backend]
    except KeyError:
        raise ConfigurationError(
            f"Unknown VECTORCACHE_EMBEDDING_BACKEND {settings.embedding_backend!r}; "
            f"choose one of {sorted(ENCODERS)}."
        ) from None
    return make(settings)


class _Borrowed:
    """An encoder owned by someone else (a test session, a benchmark): closing is theirs."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self.model_id = encoder.model_id
        self.dims = encoder.dims
        self.space = getattr(encoder, "space", f"{encoder.model_id} fp32")
        self.parallel_calls = getattr(encoder, "parallel_calls", 1)
        self.preferred_batch = getattr(encoder, "preferred_batch", None)
        self.encode = encoder.encode

    def close(self) -> None:
        return None


def build_embedder(settings: Settings, encoder: Encoder | None = None) -> Embedder:
    """The encoder chosen by settings (or a borrowed one), behind the micro-batching embedder."""
    chosen = build_encoder(settings) if encoder is None else _Borrowed(encoder)
    return BatchingEmbedder(chosen, max_batch=settings.embedding_max_batch)
