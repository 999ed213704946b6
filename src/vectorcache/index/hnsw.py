"""Approximate search over one big partition, in about 1 KB per vector instead of 1.5 KB + graph.

* hnswlib (L2) over a PCA projection of the vectors to ``ann_dims`` dimensions finds candidates.
* The full vectors are kept as int8 codes with a per-vector scale; the candidates are re-ranked
  with them (cosine error ~5e-4), so the returned scores are full-dimension cosines.

hnswlib's labels are our slots; a removed slot is marked deleted and reused by the next add
(hnswlib updates a deleted label in place). ``ids[slot]`` is the store label, -1 when free.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
import numpy.typing as npt

from vectorcache.index.base import Match
from vectorcache.index.flat import top_k
from vectorcache.index.snapshot import Blob, SnapshotReader

__all__ = ["HnswPartition", "HnswParams"]


class HnswParams:
    """Tuned on real MiniLM vectors (see bench/search.py): recall@1 >= 0.998 vs exact."""

    ann_dims = 64
    m = 16
    ef_construction = 100
    ef_search = 96
    min_candidates = 32
    pca_sample = 20_000


def quantize(vectors: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8],
                                                        npt.NDArray[np.float32]]:
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
    codes = np.rint(vectors / scales[:, None]).astype(np.int8)
    return codes, scales.astype(np.float32)


def pca_projection(vectors: npt.NDArray[np.float32], dims: int) -> npt.NDArray[np.float32]:
    """The top ``dims`` principal axes of ``vectors`` as a (d, dims) matrix."""
    sample = vectors[: HnswParams.pca_sample].astype(np.float64)
    centred = sample - sample.mean(axis=0)
    _, axes = np.linalg.eigh(centred.T @ centred)
    return np.ascontiguousarray(axes[:, ::-1][:, :dims], dtype=np.float32)


def _grown(array: npt.NDArray[Any], capacity: int, fill: int = 0) -> npt.NDArray[Any]:
    out = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    if fill:
        out[len(array):] = fill
    return out


class HnswPartition:
    kind = "hnsw"

    def __init__(self, dims: int, projection: npt.NDArray[np.float32], capacity: int) -> None:
        self.dims = dims
        self.projection = projection
        capacity = max(capacity, 1024)
        self.graph = self._new_graph(capacity)
        self.codes = np.zeros((capacity, dims), dtype=np.int8)
        self.scales = np.zeros(capacity, dtype=np.float32)
        self.ids = np.full(capacity, -1, dtype=np.int64)
        self.used = 0  # slots ever handed out (hnswlib's element count)
        self.free: list[int] = []
        self.size = 0

    @classmethod
    def build(cls, dims: int, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
              *, extra: npt.NDArray[np.float32]) -> HnswPartition:
        """A partition holding ``labels``; ``extra`` (vectors about to be added) joins the
        PCA sample."""
        sample = np.concatenate([vectors[: HnswParams.pca_sample], extra[: HnswParams.pca_sample]])
        part = cls(dims, pca_projection(sample, HnswParams.ann_dims), 2 * (len(sample)))
        if len(labels):
            part.add(labels, vectors, np.ones(len(labels), dtype=bool))
        return part

    def _new_graph(self, capacity: int) -> Any:
        graph = hnswlib.Index(space="l2", dim=self.projection.shape[1])
        graph.init_index(max_elements=capacity, M=HnswParams.m,
                         ef_construction=HnswParams.ef_construction)
        self._tune(graph)
        return graph

    @staticmethod
    def _tune(graph: Any) -> None:
        graph.set_ef(HnswParams.ef_search)
        graph.set_num_threads(min(2, os.cpu_count() or 1))

    def _grow(self, needed: int) -> None:
        """Make room for ``needed`` slots. New arrays come from np.zeros (calloc), so capacity
        not yet used costs address space, not resident memory."""
        capacity = len(self.ids)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity)
        self.graph.resize_index(capacity)
        self.codes = _grown(self.codes, capacity)
        self.scales = _grown(self.scales, capacity)
        self.ids = _grown(self.ids, capacity, fill=-1)

    def add(self, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
            new: npt.NDArray[np.bool_] | None = None) -> None:
        """Add or replace; ``labels`` are unique; ``new`` marks labels known to be absent."""
        slots = np.full(len(labels), -1, dtype=np.int64)
        known = ~new if new is not None else np.ones(len(labels), dtype=bool)
        if known.any():
            slots[known] = self._slots_of(labels[known])
        fresh_mask = slots < 0
        n_new = int(fresh_mask.sum())
        reuse = [self.free.pop() for _ in range(min(n_new, len(self.free)))]
        fresh = n_new - len(reuse)
        self._grow(self.used + fresh)
        slots[fresh_mask] = np.array(reuse + list(range(self.used, self.used + fresh)),
                                     dtype=np.int64)
        self.used += fresh
        self.size += n_new
        codes, scales = quantize(vectors)
        self.codes[slots], self.scales[slots], self.ids[slots] = codes, scales, labels
        self.graph.add_items(vectors @ self.projection, slots)

    def remove(self, labels: list[int]) -> None:
        slots = self._slots_of(np.asarray(labels, dtype=np.int64))
        for slot in slots[slots >= 0].tolist():
            self.graph.mark_deleted(slot)
            self.ids[slot] = -1
            self.free.append(slot)
            self.size -= 1

    def _slots_of(self, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Slot of each label, -1 if absent. A scan: replacing and removing are rare next to
        searches and new adds, and a label->slot dict would cost ~100 bytes per vector."""
        held = self.ids[: self.used]
        if len(held) == 0:
            return np.full(len(labels), -1, dtype=np.int64)
        if len(labels) <= 8:
            return np.array([hits[0] if len(hits := np.flatnonzero(held == label)) else -1
                             for label in labels.tolist()], dtype=np.int64)
        order = np.argsort(held, kind="stable")
        ranked = held[order]
        pos = np.searchsorted(ranked, labels).clip(0, len(held) - 1)
        found = ranked[pos] == labels
        return np.where(found, order[pos], -1).astype(np.int64)

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        if self.size == 0:
            return []
        wanted = min(max(4 * k, HnswParams.min_candidates), self.size)
        try:
            slots, _ = self.graph.knn_query((vector @ self.projection)[None, :], k=wanted)
        except RuntimeError:  # fewer reachable than asked (after many deletions)
            return self._scan(vector, k)
        candidates = slots[0].astype(np.int64)
        scores = (self.codes[candidates].astype(np.float32) @ vector) * self.scales[candidates]
        return [(int(self.ids[candidates[i]]), float(scores[i])) for i in top_k(scores, k)]

    def _scan(self, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        """Exact search over the int8 codes, in bounded chunks (the rare fallback)."""
        best: list[Match] = []
        for start in range(0, self.used, 65_536):
            stop = min(self.used, start + 65_536)
            live = start + np.flatnonzero(self.ids[start:stop] >= 0)
            scores = (self.codes[live].astype(np.float32) @ vector) * self.scales[live]
            best += [(int(self.ids[live[i]]), float(scores[i])) for i in top_k(scores, k)]
        return sorted(best, key=lambda m: -m[1])[:k]

    def held(self) -> npt.NDArray[np.int64]:
        return self.ids[: self.used][self.ids[: self.used] >= 0]

    def contents(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        live = np.flatnonzero(self.ids[: self.used] >= 0)
        return self.ids[live], self.codes[live].astype(np.float32) * self.scales[live, None]

    # -- snapshot ------------------------------------------------------------------------

    def dump(self, prefix: str, scratch: Path) -> tuple[dict[str, Any], dict[str, Blob]]:
        graph_file = scratch / f"{prefix}.hnsw"
        self.graph.save_index(str(graph_file))
        meta = {"used": self.used, "ann_dims": int(self.projection.shape[1])}
        n = self.used
        return meta, {
            f"{prefix}.projection": self.projection, f"{prefix}.codes": self.codes[:n],
            f"{prefix}.scales": self.scales[:n], f"{prefix}.ids": self.ids[:n],
            f"{prefix}.graph": graph_file,
        }

    @classmethod
    def restore(cls, dims: int, meta: dict[str, Any], reader: SnapshotReader,
                prefix: str) -> HnswPartition:
        used = int(meta["used"])
        projection = reader.array(f"{prefix}.projection")
        ids = reader.array(f"{prefix}.ids")
        codes = reader.array(f"{prefix}.codes")
        scales = reader.array(f"{prefix}.scales")
        if (projection.shape != (dims, meta["ann_dims"]) or codes.shape != (used, dims)
                or ids.shape != (used,) or scales.shape != (used,)):
            raise ValueError("hnsw partition shape mismatch")
        live = ids[ids >= 0]
        if len(np.unique(live)) != len(live):
            raise ValueError("duplicate labels in hnsw partition")
        part = cls(dims, projection, 0)
        capacity = max(used + used // 4, 1024)
        with tempfile.TemporaryDirectory(dir=reader.path.parent) as tmp:
            graph_file = Path(tmp) / "graph.hnsw"
            reader.copy_to_file(f"{prefix}.graph", graph_file)
            part.graph = hnswlib.Index(space="l2", dim=projection.shape[1])
            part.graph.load_index(str(graph_file), max_elements=capacity)
        if part.graph.element_count != used:
            raise ValueError("hnsw graph does not match its vectors")
        cls._tune(part.graph)
        part.codes = _grown(codes, capacity)
        part.scales = _grown(scales, capacity)
        part.ids = _grown(ids, capacity, fill=-1)
        part.used, part.size = used, len(live)
        part.free = np.flatnonzero(ids < 0).tolist()
        return part
