"""Partitioned in-process vector indexes for the embedded store."""

from __future__ import annotations

from collections.abc import Callable

from vectorcache.errors import ConfigurationError
from vectorcache.index.base import Match, VectorIndex
from vectorcache.index.null import NullIndex
from vectorcache.index.partitioned import DEFAULT_ANN_THRESHOLD, FlatIndex, HybridIndex

__all__ = [
    "DEFAULT_ANN_THRESHOLD",
    "INDEXES",
    "FlatIndex",
    "HybridIndex",
    "Match",
    "VectorIndex",
    "build_index",
]

INDEXES: dict[str, Callable[[int], VectorIndex]] = {
    "auto": HybridIndex,  # exact while small, faiss IVF (8-bit codes) per partition past it
    "hybrid": HybridIndex,
    "flat": FlatIndex,  # exact everywhere
    "none": NullIndex,  # management processes that never search
}


def build_index(dims: int, kind: str = "auto") -> VectorIndex:
    """The index for ``kind`` ("auto" picks the default)."""
    try:
        make = INDEXES[kind]
    except KeyError:
        raise ConfigurationError(
            f"Unknown index kind {kind!r}; choose one of {sorted(INDEXES)}.") from None
    return make(dims)
