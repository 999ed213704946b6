"""Sentence embeddings: the local all-MiniLM-L6-v2 model, run offline."""

from vectorcache.embeddings.base import Embedder, Encoder, Vectors
from vectorcache.embeddings.factory import build_embedder, build_encoder

__all__ = ["Embedder", "Encoder", "Vectors", "build_embedder", "build_encoder"]
