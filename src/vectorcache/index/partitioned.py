"""The partitioned index: exact (flat) partitions that switch to ANN (hnsw) when they grow big.

A search only sees its own partition; each big partition has its own graph. ``FlatIndex`` never
switches (exact everywhere); ``HybridIndex`` switches a partition once it holds
``ann_threshold`` vectors. A partition never switches back (an hnsw partition keeps int8 codes,
not the float vectors), and one that empties is dropped.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vectorcache.index.base import Match
from vectorcache.index.flat import FlatPartition
from vectorcache.index.hnsw import HnswPartition
from vectorcache.index.snapshot import Blob, SnapshotError, SnapshotReader, write_snapshot

__all__ = ["PartitionedIndex", "FlatIndex", "HybridIndex", "DEFAULT_ANN_THRESHOLD"]

DEFAULT_ANN_THRESHOLD = 8192  # exact search at this size costs ~0.7 ms on 2 cores
_Partition = FlatPartition | HnswPartition


class PartitionedIndex:
    def __init__(self, dims: int, *, ann_threshold: int | None) -> None:
        self.dims = dims
        self.ann_threshold = ann_threshold
        self._parts: dict[str, _Partition] = {}
        self._where: dict[int, str] = {}
        self._lock = threading.RLock()

    def add(self, partition: str, labels: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dims)
        ids = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} labels for {len(vectors)} vectors")
        if len(set(ids.tolist())) != len(ids):  # the last vector for a label wins
            last = {label: i for i, label in enumerate(ids.tolist())}
            keep = np.array(sorted(last.values()), dtype=np.intp)
            ids, vectors = ids[keep], vectors[keep]
        with self._lock:
            moved = [lb for lb in ids.tolist() if self._where.get(lb, partition) != partition]
            self._remove(moved)
            part = self._parts.get(partition)
            new = np.array([lb not in self._where for lb in ids.tolist()], dtype=bool)
            if part is None:
                part = self._parts[partition] = FlatPartition(self.dims)
            if (isinstance(part, FlatPartition) and self.ann_threshold is not None
                    and part.size + int(new.sum()) >= self.ann_threshold):
                held, held_vectors = part.contents()
                part = self._parts[partition] = HnswPartition.build(
                    self.dims, held.copy(), held_vectors.copy(), extra=vectors)
            part.add(ids, vectors, new)
            for label in ids.tolist():
                self._where[label] = partition

    def remove(self, labels: Sequence[int]) -> None:
        with self._lock:
            self._remove(labels)

    def _remove(self, labels: Sequence[int]) -> None:
        by_part: dict[str, list[int]] = {}
        for label in labels:
            partition = self._where.pop(int(label), None)
            if partition is not None:
                by_part.setdefault(partition, []).append(int(label))
        for partition, gone in by_part.items():
            part = self._parts[partition]
            part.remove(gone)
            if part.size == 0:
                del self._parts[partition]

    def search(self, partition: str, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        query = np.asarray(vector, dtype=np.float32).reshape(self.dims)
        with self._lock:
            part = self._parts.get(partition)
            return [] if part is None or k <= 0 else part.search(query, k)

    def labels(self) -> set[int]:
        with self._lock:
            return set(self._where)

    def partition_kinds(self) -> dict[str, str]:
        """Partition name -> "flat" | "hnsw" (for stats and tests)."""
        with self._lock:
            return {name: part.kind for name, part in self._parts.items()}

    def __len__(self) -> int:
        return len(self._where)

    # -- snapshot ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            metas: list[dict[str, Any]] = []
            blobs: dict[str, Blob] = {}
            for i, (name, part) in enumerate(self._parts.items()):
                prefix = f"p{i}"
                meta, part_blobs = (part.dump(prefix, Path(scratch))
                                    if isinstance(part, HnswPartition) else part.dump(prefix))
                metas.append({**meta, "name": name, "kind": part.kind, "prefix": prefix})
                blobs.update(part_blobs)
            write_snapshot(path, {"dims": self.dims, "partitions": metas}, blobs)

    def load(self, path: Path) -> bool:
        """Replace the contents with the snapshot at ``path``; on any problem, keep them and
        return False (the store then rebuilds from its records)."""
        try:
            reader = SnapshotReader.open(path, dims=self.dims)
            parts: dict[str, _Partition] = {}
            for meta in reader.header["partitions"]:
                kind = {"flat": FlatPartition, "hnsw": HnswPartition}[meta["kind"]]
                parts[str(meta["name"])] = kind.restore(self.dims, meta, reader, meta["prefix"])
            where = {int(label): name for name, part in parts.items()
                     for label in part.held().tolist()}
            if len(where) != sum(part.size for part in parts.values()):
                raise SnapshotError("a label is in two partitions")
        except (SnapshotError, OSError, ValueError, KeyError, TypeError, RuntimeError):
            return False
        with self._lock:
            self._parts, self._where = parts, where
        return True


class FlatIndex(PartitionedIndex):
    """Exact search everywhere (float32, ~1.5 KB per 384-d vector)."""

    def __init__(self, dims: int) -> None:
        super().__init__(dims, ann_threshold=None)


class HybridIndex(PartitionedIndex):
    """Exact for small partitions; PCA-hnsw + int8 re-rank for partitions past the threshold."""

    def __init__(self, dims: int, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> None:
        super().__init__(dims, ann_threshold=ann_threshold)
