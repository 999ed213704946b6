"""Exact search over one partition: a contiguous float32 matrix (the baseline ANN is checked
against)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vectorcache.index.base import Match
from vectorcache.index.snapshot import Blob, SnapshotReader

__all__ = ["FlatPartition", "top_k"]


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.argsort(-scores[top], kind="stable")]


class FlatPartition:
    kind = "flat"

    def __init__(self, dims: int) -> None:
        self.vectors = np.empty((16, dims), dtype=np.float32)
        self.ids = np.empty(16, dtype=np.int64)
        self.size = 0
        self.slot_of: dict[int, int] = {}

    def add(self, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
            new: npt.NDArray[np.bool_] | None = None) -> None:
        for label, vector in zip(labels.tolist(), vectors, strict=True):
            slot = self.slot_of.get(label)
            if slot is None:
                if self.size == len(self.ids):
                    self.vectors = np.resize(self.vectors, (2 * self.size, self.vectors.shape[1]))
                    self.ids = np.resize(self.ids, 2 * self.size)
                slot = self.size
                self.size += 1
                self.slot_of[label] = slot
                self.ids[slot] = label
            self.vectors[slot] = vector

    def remove(self, labels: list[int]) -> None:
        for label in labels:
            slot = self.slot_of.pop(label)
            last = self.size - 1
            if slot != last:  # move the last row into the hole
                moved = int(self.ids[last])
                self.vectors[slot] = self.vectors[last]
                self.ids[slot] = moved
                self.slot_of[moved] = slot
            self.size = last

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        scores = self.vectors[: self.size] @ vector
        return [(int(self.ids[i]), float(scores[i])) for i in top_k(scores, k)]

    def held(self) -> npt.NDArray[np.int64]:
        return self.ids[: self.size]

    def contents(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        return self.ids[: self.size], self.vectors[: self.size]

    # -- snapshot ------------------------------------------------------------------------

    def dump(self, prefix: str) -> tuple[dict[str, Any], dict[str, Blob]]:
        ids, vectors = self.contents()
        return {}, {f"{prefix}.ids": ids, f"{prefix}.vectors": vectors}

    @classmethod
    def restore(cls, dims: int, meta: dict[str, Any], reader: SnapshotReader,
                prefix: str) -> FlatPartition:
        ids = reader.array(f"{prefix}.ids").astype(np.int64, copy=False)
        vectors = reader.array(f"{prefix}.vectors")
        if vectors.shape != (len(ids), dims) or len(set(ids.tolist())) != len(ids):
            raise ValueError("flat partition shape mismatch")
        part = cls(dims)
        part.add(ids, vectors.astype(np.float32, copy=False))
        return part
