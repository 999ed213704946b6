"""Approximate search over one big partition: a usearch HNSW graph over int8 codes of the
full-dimension vectors, about 0.55 KB per vector (384 B of codes + ~150 B of graph).

* Each vector is stored as int8 codes with its own scale (``round(127 * x / max|x|)``), passed to
  usearch already quantised so usearch keeps them as they are (a float input would be cast with
  a fixed scale of 127, ~4x coarser). The graph's cosine is computed on the codes directly
  (scale-free), query codes against stored codes.
* The ``k`` results are re-scored against the float query with their codes normalised by their
  own norm (cosine error ~2e-4 typical, ~6e-4 worst seen), so the returned scores are
  near-exact full-dimension cosines.
* Keys are the store's labels themselves (usearch keeps its own key -> slot table), so nothing
  else per vector is held in Python.

An earlier version searched hnswlib over a 64-d PCA projection: it lost the small differences
between near-copies (recall@1 0.52 at 1M on bench/search.py's harsh set). See BENCHMARKS.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from usearch.index import Index, ScalarKind

from vectorcache.index.base import Match
from vectorcache.index.flat import top_k
from vectorcache.index.snapshot import Blob, SnapshotReader

__all__ = ["AnnPartition", "AnnParams", "quantize"]


class AnnParams:
    """usearch HNSW settings, tuned with bench/search.py (recall@1 vs exact, 10k..1M)."""

    connectivity = 16  # M: neighbours per node (2M on the base layer)
    expansion_add = 128  # ef_construction
    expansion_search = 96  # ef at query time
    bulk = 256  # batches at least this big are inserted with every core


def quantize(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """int8 codes with a per-vector scale; the scale is dropped (cosine is scale-free)."""
    scale = np.maximum(np.abs(vectors).max(axis=-1, keepdims=True), 1e-12)
    return np.rint(vectors * (127.0 / scale)).astype(np.int8)


def _new_index(dims: int) -> Index:
    return Index(ndim=dims, metric="cos", dtype="i8", connectivity=AnnParams.connectivity,
                 expansion_add=AnnParams.expansion_add,
                 expansion_search=AnnParams.expansion_search)


class AnnPartition:
    kind = "hnsw"

    def __init__(self, dims: int, index: Index | None = None) -> None:
        self.dims = dims
        self.index = index if index is not None else _new_index(dims)

    @property
    def size(self) -> int:
        return len(self.index)

    @classmethod
    def build(cls, dims: int, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
              *, threads: int = 1) -> AnnPartition:
        part = cls(dims)
        part.add(labels, vectors, threads=threads)
        return part

    def add(self, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
            new: npt.NDArray[np.bool_] | None = None, *, threads: int | None = None) -> None:
        """Add or replace; ``labels`` are unique; ``new`` marks labels known to be absent."""
        if len(labels) == 0:
            return
        keys = labels.astype(np.uint64)
        known = ~new if new is not None else np.ones(len(keys), dtype=bool)
        if known.any():
            present = keys[known][np.asarray(self.index.contains(keys[known]), dtype=bool)
                                  .reshape(-1)]
            if len(present):
                self.index.remove(present)
        if threads is None:
            threads = (os.cpu_count() or 1) if len(keys) >= AnnParams.bulk else 1
        self.index.add(keys, quantize(vectors), threads=threads)

    def remove(self, labels: list[int]) -> None:
        keys = np.asarray(labels, dtype=np.uint64)
        present = keys[np.asarray(self.index.contains(keys), dtype=bool).reshape(-1)]
        if len(present):
            self.index.remove(present)

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        size = len(self.index)
        if size == 0:
            return []
        k = min(k, size)
        found = self.index.search(quantize(vector), k, threads=1)
        if len(found.keys) < k:  # the graph lost its way (after many removals): scan
            found = self.index.search(quantize(vector), k, threads=1, exact=True)
        keys = np.asarray(found.keys, dtype=np.uint64)
        codes = np.asarray(self.index.get(keys, dtype=np.int8), dtype=np.float32
                           ).reshape(len(keys), self.dims)
        scores = (codes @ vector) / np.maximum(np.linalg.norm(codes, axis=1), 1e-12)
        return [(int(keys[i]), float(scores[i])) for i in top_k(scores, k)]

    def held(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.index.keys, dtype=np.int64)

    # -- snapshot ------------------------------------------------------------------------

    def dump(self, prefix: str, scratch: Path) -> tuple[dict[str, Any], dict[str, Blob]]:
        graph_file = scratch / f"{prefix}.usearch"
        self.index.save(str(graph_file))
        return {"size": len(self.index), "engine": "usearch-i8"}, {f"{prefix}.graph": graph_file}

    @classmethod
    def restore(cls, dims: int, meta: dict[str, Any], reader: SnapshotReader,
                prefix: str) -> AnnPartition:
        if meta.get("engine") != "usearch-i8":
            raise ValueError("unknown ANN engine in snapshot")
        index = _new_index(dims)
        with tempfile.TemporaryDirectory(dir=reader.path.parent) as tmp:
            graph_file = Path(tmp) / "graph.usearch"
            reader.copy_to_file(f"{prefix}.graph", graph_file)
            index.load(str(graph_file))  # read into memory: the file can go
        if (index.ndim != dims or index.dtype != ScalarKind.I8
                or len(index) != int(meta["size"])):
            raise ValueError("usearch graph does not match its snapshot entry")
        index.expansion_search = AnnParams.expansion_search
        return cls(dims, index)
