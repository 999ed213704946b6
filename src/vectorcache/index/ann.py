"""Approximate search over one big partition: an inverted file (faiss IVF) over 8-bit scalar-
quantised full-dimension vectors, about 0.4 KB per vector (384 B of codes + 8 B of label).

* A coarse quantiser (``nlist`` k-means centroids, inner product) sends each vector to one list;
  a search scans the ``nprobe`` lists nearest the query, exactly, over the 8-bit codes (one
  trained min/max per dimension; cosine error ~5e-4), so the returned scores are near-exact
  full-dimension cosines.
* Within a probed list nothing is approximate: near-copies of one prompt (which all land in the
  same list) are told apart by a scan, not by a graph walk. HNSW graphs fail exactly there:
  on bench/search.py's harsh set (~260 copies of each prompt at cosine ~0.81 to each other) a
  usearch int8 graph found the exact top-1 for 28 % of queries at 1M (ef 96; 42 % at ef 256),
  and hnswlib over a PCA-64 projection for 52 %. See BENCHMARKS.md.
* ``nlist`` is fixed when the lists are trained, so ``PartitionedIndex`` rebuilds a partition (in
  the background) each time it grows ``AnnParams.regrow`` times past its training size.

Labels are the store's labels (faiss ids); the lists hold them, so nothing else per vector is
kept in Python. faiss releases the GIL in train/add/search.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from vectorcache.index.base import Match
from vectorcache.index.snapshot import Blob, SnapshotReader

__all__ = ["AnnParams", "AnnPartition", "Source"]


class AnnParams:
    """Tuned with bench/search.py (recall@1 vs exact, 10k..1M, harsh + spread sets)."""

    lists_per_sqrt = 4  # nlist = 4 * sqrt(n) at training time ...
    min_points_per_list = 39  # ... but k-means wants >= 39 training points per centroid
    train_points_per_list = 50  # k-means sample: 50 points per list ...
    kmeans_iterations = 10  # ... 10 iterations: ample for routing, and keeps rebuilds short
    nprobe = 16
    regrow = 2  # rebuild (retrain, and re-pack the lists tight) at 2x the training size
    decode_chunk = 65_536


def nlist_for(n: int) -> int:
    return max(1, min(int(AnnParams.lists_per_sqrt * math.sqrt(n)),
                      n // AnnParams.min_points_per_list))


class Source:
    """What a partition is built from: labels and their float vectors, in chunks (a rebuild
    decodes the old partition's codes chunk by chunk instead of holding them all as float32)."""

    def __init__(self, labels: npt.NDArray[np.int64], vectors: npt.NDArray[Any],
                 decode: Any = None, owner: Any = None) -> None:
        self.labels, self.vectors, self.decode = labels, vectors, decode
        self.owner = owner  # keeps the faiss index that ``decode`` belongs to alive

    def __len__(self) -> int:
        return len(self.labels)

    def chunks(self) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        step = AnnParams.decode_chunk
        for start in range(0, len(self.labels), step):
            block = self.vectors[start:start + step]
            yield (self.labels[start:start + step],
                   self.decode(block) if self.decode is not None else block)

    def sample(self, n: int, seed: int = 0) -> npt.NDArray[np.float32]:
        pick = np.sort(np.random.default_rng(seed).choice(len(self), min(n, len(self)),
                                                          replace=False))
        block = self.vectors[pick]
        return self.decode(block) if self.decode is not None else block


class AnnPartition:
    kind = "hnsw"  # historical name for "the approximate kind" (stats, snapshots, tests)

    def __init__(self, index: Any, trained_size: int) -> None:
        self.index = index
        self.index.nprobe = min(AnnParams.nprobe, index.nlist)
        self.trained_size = trained_size

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(cls, dims: int, source: Source) -> AnnPartition:
        """Train lists for ``len(source)`` vectors and add them (slow: run it off the loop).

        One OpenMP thread (this thread's setting only): on a 2-core server a build using both
        cores starves the requests being served meanwhile; it takes longer instead."""
        faiss.omp_set_num_threads(1)
        n = len(source)
        quantizer = faiss.IndexFlatIP(dims)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dims, nlist_for(n),
                                              faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.by_residual = False  # codes are the vectors themselves: a rebuild can decode them
        index.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]  # SWIG, not in the stubs
        index.cp.niter = AnnParams.kmeans_iterations
        sample = source.sample(AnnParams.train_points_per_list * index.nlist)
        index.train(np.ascontiguousarray(sample, np.float32))
        part = cls(index, n)
        for labels, vectors in source.chunks():
            index.add_with_ids(np.ascontiguousarray(vectors, np.float32), labels)
        return part

    def source(self, lock: Any = None) -> Source:
        """A copy of the contents (labels + 8-bit codes), for a rebuild. With ``lock``, each
        list is copied under it and the lock is let go in between (a 1M copy is ~400 MB): the
        copy is then not one snapshot, so the caller replays every change made since it began
        as a replace (see PartitionedIndex._replay)."""
        labels, codes = [], []
        lists, width = self.index.invlists, self.index.code_size
        for lst in range(self.index.nlist):
            with lock if lock is not None else contextlib.nullcontext():
                size = lists.list_size(lst)
                if size:
                    labels.append(faiss.rev_swig_ptr(lists.get_ids(lst), size).copy())
                    codes.append(faiss.rev_swig_ptr(lists.get_codes(lst), size * width)
                                 .copy().reshape(size, width))
        if not labels:
            return Source(np.empty(0, np.int64), np.empty((0, width), np.uint8))
        return Source(np.concatenate(labels), np.concatenate(codes), self.index.sq.decode, self)

    def add(self, labels: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
            new: npt.NDArray[np.bool_] | None = None) -> None:
        """Add or replace; ``labels`` are unique; ``new`` marks labels known to be absent."""
        if len(labels) == 0:
            return
        known = labels if new is None else labels[~new]
        if len(known):
            self.index.remove_ids(np.ascontiguousarray(known, dtype=np.int64))
        self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32),
                                np.ascontiguousarray(labels, dtype=np.int64))

    def remove(self, labels: list[int]) -> None:
        if labels:  # one pass over the lists' ids, whatever the number of labels
            self.index.remove_ids(np.asarray(labels, dtype=np.int64))

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        size = self.size
        if size == 0:
            return []
        k = min(k, size)
        scores, labels = self.index.search(vector[None, :], k)
        if (labels[0] < 0).any():  # the probed lists hold fewer than k: probe them all
            params = faiss.SearchParametersIVF(nprobe=self.index.nlist)  # type: ignore[call-arg]
            scores, labels = self.index.search(vector[None, :], k, params=params)
        return [(int(label), float(score)) for label, score in zip(labels[0], scores[0],
                                                                   strict=True) if label >= 0]

    def held(self) -> npt.NDArray[np.int64]:
        lists = self.index.invlists
        held = [faiss.rev_swig_ptr(lists.get_ids(lst), size).copy()
                for lst in range(self.index.nlist) if (size := lists.list_size(lst))]
        return np.concatenate(held) if held else np.empty(0, np.int64)

    # -- snapshot ------------------------------------------------------------------------

    def dump(self, prefix: str, scratch: Path) -> tuple[dict[str, Any], dict[str, Blob]]:
        index_file = scratch / f"{prefix}.faiss"
        faiss.write_index(self.index, str(index_file))
        meta = {"size": self.size, "trained_size": self.trained_size, "engine": "faiss-ivf-sq8"}
        return meta, {f"{prefix}.graph": index_file}

    @classmethod
    def restore(cls, dims: int, meta: dict[str, Any], reader: SnapshotReader,
                prefix: str) -> AnnPartition:
        if meta.get("engine") != "faiss-ivf-sq8":
            raise ValueError("unknown ANN engine in snapshot")
        with tempfile.TemporaryDirectory(dir=reader.path.parent) as tmp:
            index_file = Path(tmp) / "index.faiss"
            reader.copy_to_file(f"{prefix}.graph", index_file)
            index = faiss.read_index(str(index_file))  # already the concrete type
        if (not isinstance(index, faiss.IndexIVFScalarQuantizer) or index.d != dims
                or index.by_residual or index.ntotal != int(meta["size"])):
            raise ValueError("faiss index does not match its snapshot entry")
        return cls(index, int(meta["trained_size"]))
