"""The partitioned index: exact (flat) partitions that switch to ANN (faiss IVF) when they grow.

A search only sees its own partition; each big partition has its own graph. ``FlatIndex`` never
switches (exact everywhere); ``HybridIndex`` switches a partition once it holds
``ann_threshold`` vectors. A partition never switches back (an ANN partition keeps int8 codes,
not the float vectors), and one that empties is dropped. An ANN partition is rebuilt (its lists
retrained) each time it grows ``AnnParams.regrow`` times past the size it was trained at.

Neither the switch nor a rebuild blocks a caller: the new partition is built in a background
thread from a copy of the current one's contents, while the current one keeps taking
adds/removes and answering searches (exactly, for a flat one). Changes made meanwhile are
journalled and replayed onto the new partition, which replaces the current one under the lock
once the journal is (nearly) drained. ``wait_idle`` waits for pending builds (tests,
benchmarks, shutdown).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vectorcache.index.ann import AnnParams, AnnPartition, Source
from vectorcache.index.base import Match
from vectorcache.index.flat import FlatPartition
from vectorcache.index.snapshot import Blob, SnapshotError, SnapshotReader, write_snapshot

__all__ = ["DEFAULT_ANN_THRESHOLD", "FlatIndex", "HybridIndex", "PartitionedIndex"]

log = logging.getLogger(__name__)

DEFAULT_ANN_THRESHOLD = 8192  # exact search at this size costs ~0.7 ms on 2 cores
_TRIM_EVERY = 16_384  # vectors added to ANN partitions between two heap trims (off the loop)
_SWAP_LABELS = 32  # at most this many journalled labels are replayed under the lock (~ms each)
_Partition = FlatPartition | AnnPartition
# (labels, vectors, new) for an add; (labels, None, None) for a remove
_Op = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32] | None, npt.NDArray[np.bool_] | None]


def _trim_heap() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise: a rebuild at 1M frees ~200 MB
    that RSS would keep counting)."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@dataclass(eq=False)
class _Conversion:
    """A partition being (re)built as an ANN one; ``journal`` holds the changes since its
    contents were copied. Identity is the cancellation token: a job no longer registered is
    dropped."""

    journal: list[_Op] = field(default_factory=list)
    exact_new: bool = True  # False: the source was copied piecemeal, replay adds as replaces


class PartitionedIndex:
    def __init__(self, dims: int, *, ann_threshold: int | None) -> None:
        self.dims = dims
        self.ann_threshold = ann_threshold
        self._parts: dict[str, _Partition] = {}
        self._where: dict[int, str] = {}
        self._lock = threading.RLock()
        self._converting: dict[str, _Conversion] = {}
        self._failed: dict[str, int] = {}  # partition -> size at a failed switch (retry at 2x)
        self._grown = 0  # vectors added to ANN partitions since the heap was last trimmed
        self._idle = threading.Condition(self._lock)

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
            part.add(ids, vectors, new)
            for label in ids.tolist():
                self._where[label] = partition
            job = self._converting.get(partition)
            if job is not None:
                job.journal.append((ids.copy(), vectors.copy(), new))
            else:
                self._maybe_convert(partition, part)
            if isinstance(part, AnnPartition):
                self._grown += len(ids)
                if self._grown >= max(_TRIM_EVERY, len(self._where) // 16):
                    self._grown = 0  # growing lists free their old buffers: give them back
                    threading.Thread(target=_trim_heap, name="vectorcache-trim",
                                     daemon=True).start()

    # -- flat -> ANN and ANN -> bigger ANN, in the background ------------------------------

    def _maybe_convert(self, name: str, part: _Partition) -> None:
        if self.ann_threshold is None or name in self._converting:
            return
        due = (self.ann_threshold if isinstance(part, FlatPartition)
               else AnnParams.regrow * part.trained_size)
        if part.size < max(due, 2 * self._failed.get(name, 0)):
            return
        source: Source | AnnPartition
        if isinstance(part, FlatPartition):  # small (threshold-sized): copied right here
            held, held_vectors = part.contents()
            source = Source(held.copy(), held_vectors.copy())
        else:  # maybe ~400 MB of codes: copied list by list in the background thread
            source = part
        job = self._converting[name] = _Conversion(exact_new=isinstance(part, FlatPartition))
        self._failed.pop(name, None)
        threading.Thread(target=self._convert, args=(name, job, source),
                         name=f"vectorcache-ann-{name}", daemon=True).start()

    def _convert(self, name: str, job: _Conversion, source: Source | AnnPartition) -> None:
        """Copy (for a rebuild) and build without holding the lock (faiss releases the GIL),
        replay the journal, swap. Searches meanwhile are answered by the current partition."""
        old: _Partition | None = None
        try:
            if isinstance(source, AnnPartition):
                source = source.source(lock=self._lock)
            ann = AnnPartition.build(self.dims, source)
            del source
            while True:
                with self._lock:
                    if self._converting.get(name) is not job:
                        return  # cancelled: the partition emptied, or a snapshot was loaded
                    ops, job.journal = job.journal, []
                    if sum(len(op[0]) for op in ops) <= _SWAP_LABELS:
                        self._replay(ann, ops, job.exact_new)
                        old, self._parts[name] = self._parts.get(name), ann
                        del self._converting[name]
                        self._idle.notify_all()
                        break
                self._replay(ann, ops, job.exact_new)
            del old, ann
            _trim_heap()
        except Exception:  # the current partition stays: correct, only slower
            log.exception("building an ANN partition for %r failed; the current one stays", name)
            with self._lock:
                if self._converting.get(name) is job:
                    del self._converting[name]
                    if (part := self._parts.get(name)) is not None:
                        self._failed[name] = part.size
                    self._idle.notify_all()

    @staticmethod
    def _replay(ann: AnnPartition, ops: list[_Op], exact_new: bool) -> None:
        for labels, vectors, new in ops:
            if vectors is None:
                ann.remove(labels.tolist())
            else:  # without exact_new a "new" label may already be in the copy: replace it
                ann.add(labels, vectors, new if exact_new else None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no partition is being (re)built; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._converting, timeout)

    def converting(self) -> set[str]:
        """Partitions being (re)built in the background (the current one answers meanwhile)."""
        with self._lock:
            return set(self._converting)

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
            job = self._converting.get(partition)
            if job is not None:
                job.journal.append((np.asarray(gone, dtype=np.int64), None, None))
            if part.size == 0:
                del self._parts[partition]
                if self._converting.pop(partition, None) is not None:
                    self._idle.notify_all()

    def search(self, partition: str, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        query = np.asarray(vector, dtype=np.float32).reshape(self.dims)
        with self._lock:
            part = self._parts.get(partition)
            return [] if part is None or k <= 0 else part.search(query, k)

    def labels(self) -> set[int]:
        with self._lock:
            return set(self._where)

    def partition_kinds(self) -> dict[str, str]:
        """Partition name -> "flat" | "hnsw" (= approximate; for stats and tests); a partition
        being converted is "flat" until its ANN replacement takes over."""
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
                                    if isinstance(part, AnnPartition) else part.dump(prefix))
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
                kinds: dict[str, type[FlatPartition | AnnPartition]] = {
                    "flat": FlatPartition, "hnsw": AnnPartition}
                kind = kinds[meta["kind"]]
                parts[str(meta["name"])] = kind.restore(self.dims, meta, reader, meta["prefix"])
            where = {int(label): name for name, part in parts.items()
                     for label in part.held().tolist()}
            if len(where) != sum(part.size for part in parts.values()):
                raise SnapshotError("a label is in two partitions")
        except (SnapshotError, OSError, ValueError, KeyError, TypeError, RuntimeError):
            return False
        with self._lock:
            self._parts, self._where = parts, where
            if self._converting:  # builds from the old contents are void
                self._converting = {}
                self._idle.notify_all()
            for name, part in parts.items():  # e.g. a flat snapshot loaded by a hybrid index
                self._maybe_convert(name, part)
        _trim_heap()
        return True


class FlatIndex(PartitionedIndex):
    """Exact search everywhere (float32, ~1.5 KB per 384-d vector)."""

    def __init__(self, dims: int) -> None:
        super().__init__(dims, ann_threshold=None)


class HybridIndex(PartitionedIndex):
    """Exact for small partitions; faiss IVF over 8-bit codes past the threshold (built in the
    background: see the module docstring)."""

    def __init__(self, dims: int, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> None:
        super().__init__(dims, ann_threshold=ann_threshold)
