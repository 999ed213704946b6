"""The partitioned vector index: flat (exact) and hybrid (flat -> faiss IVF over 8-bit codes,
built in the background)."""

from __future__ import annotations

import json
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from conftest import dev_data

from vectorcache.embeddings import Encoder
from vectorcache.index import FlatIndex, HybridIndex, build_index
from vectorcache.index.partitioned import PartitionedIndex

DIMS = 384
Vecs = npt.NDArray[np.float32]


def _unit(n: int, seed: int = 0) -> Vecs:
    x = np.random.default_rng(seed).normal(size=(n, DIMS)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class _SyncHybrid(HybridIndex):
    """Hybrid with a small threshold whose adds wait for the background conversion, so the
    tests below exercise the ANN partition deterministically."""

    def add(self, partition: str, labels: Sequence[int], vectors: Vecs) -> None:
        super().add(partition, labels, vectors)
        assert self.wait_idle(60)


KINDS: dict[str, Callable[[], PartitionedIndex]] = {
    "flat": lambda: FlatIndex(DIMS),
    "hybrid": lambda: _SyncHybrid(DIMS, ann_threshold=50),  # small: the ANN path is exercised
}


@pytest.fixture(params=sorted(KINDS))
def make(request: pytest.FixtureRequest) -> Callable[[], PartitionedIndex]:
    return KINDS[request.param]


def test_build_index_kinds() -> None:
    assert isinstance(build_index(DIMS), HybridIndex)
    assert isinstance(build_index(DIMS, "flat"), FlatIndex)
    with pytest.raises(Exception, match="Unknown index kind"):
        build_index(DIMS, "nope")


def test_add_search_replace_remove(make: Callable[[], PartitionedIndex]) -> None:
    index, vecs = make(), _unit(200)
    index.add("p", list(range(200)), vecs)
    assert len(index) == 200 and index.labels() == set(range(200))
    for i in (0, 57, 199):
        (label, score), *_ = index.search("p", vecs[i], 3)
        assert label == i and score == pytest.approx(1.0, abs=2e-3)
    index.add("p", [7], vecs[8:9])  # replace label 7's vector
    assert {lb for lb, _ in index.search("p", vecs[8], 2)} == {7, 8}
    assert len(index) == 200
    index.remove([8, 9999])  # unknown labels are ignored
    assert index.search("p", vecs[8], 1)[0][0] == 7 and 8 not in index.labels()
    index.add("p", [8], vecs[8:9])  # a removed label comes back
    assert len(index) == 200
    assert index.search("p", vecs[8], 5)[0][1] == pytest.approx(1.0, abs=2e-3)
    assert index.search("p", vecs[0], 0) == [] and index.search("other", vecs[0], 3) == []


def test_results_best_first_and_k_capped(make: Callable[[], PartitionedIndex]) -> None:
    index, vecs = make(), _unit(80, seed=1)
    index.add("p", list(range(80)), vecs)
    got = index.search("p", vecs[3], 10)
    scores = [s for _, s in got]
    assert len(got) == 10 and scores == sorted(scores, reverse=True)
    small = make()
    small.add("q", [1, 2], vecs[:2])
    assert len(small.search("q", vecs[0], 10)) == 2


def test_partitions_are_isolated(make: Callable[[], PartitionedIndex]) -> None:
    index, vecs = make(), _unit(120, seed=2)
    index.add("a", list(range(100)), vecs[:100])
    index.add("b", [1000, 1001], vecs[100:102])
    assert all(label >= 1000 for label, _ in index.search("b", vecs[5], 5))
    assert all(label < 1000 for label, _ in index.search("a", vecs[100], 5))
    index.add("b", [5], vecs[5:6])  # re-adding a label elsewhere moves it
    assert 5 not in {lb for lb, _ in index.search("a", vecs[5], 3)}
    assert index.search("b", vecs[5], 1)[0][0] == 5 and len(index) == 102
    index.remove([1000, 1001, 5])
    assert index.search("b", vecs[5], 3) == []


def test_hybrid_switches_past_threshold() -> None:
    index, vecs = HybridIndex(DIMS, ann_threshold=50), _unit(60, seed=3)
    index.add("p", list(range(49)), vecs[:49])
    assert index.partition_kinds() == {"p": "flat"}
    index.add("p", [49], vecs[49:50])
    assert index.wait_idle(60)  # the graph is built in the background
    assert index.partition_kinds() == {"p": "hnsw"}
    for i in range(50):
        assert index.search("p", vecs[i], 1)[0][0] == i


def test_hybrid_survives_mass_deletion() -> None:
    index, vecs = _SyncHybrid(DIMS, ann_threshold=50), _unit(300, seed=6)
    index.add("p", list(range(300)), vecs)
    assert index.partition_kinds() == {"p": "hnsw"}
    index.remove(list(range(295)))
    got = index.search("p", vecs[297], 8)
    assert [lb for lb, _ in got][:1] == [297] and {lb for lb, _ in got} == set(range(295, 300))
    index.add("p", [1], vecs[1:2])  # freed slots are reused
    assert index.search("p", vecs[1], 1)[0][0] == 1 and len(index) == 6


def test_snapshot_round_trip(make: Callable[[], PartitionedIndex], tmp_path: Path) -> None:
    index, vecs = make(), _unit(150, seed=4)
    index.add("a", list(range(120)), vecs[:120])
    index.add("b", list(range(120, 150)), vecs[120:])
    index.remove([3, 4, 125])
    path = tmp_path / "snap.index"
    index.save(path)
    assert not [p for p in tmp_path.iterdir() if p != path]  # no temp files left behind
    loaded = make()
    assert loaded.load(path)
    assert loaded.labels() == index.labels() and len(loaded) == 147
    for part, i in (("a", 10), ("a", 119), ("b", 130)):
        assert loaded.search(part, vecs[i], 3) == index.search(part, vecs[i], 3)
    loaded.add("a", [3, 500], vecs[3:5])  # keeps working after a load (free slots reused)
    assert loaded.search("a", vecs[4], 1)[0][0] == 500 and len(loaded) == 149


def test_bad_snapshots_are_refused(make: Callable[[], PartitionedIndex], tmp_path: Path) -> None:
    index, vecs = make(), _unit(100, seed=5)
    index.add("a", list(range(100)), vecs)
    good = tmp_path / "good.index"
    index.save(good)
    raw = good.read_bytes()
    middle = bytearray(raw)
    middle[len(raw) // 3] ^= 0xFF
    cases = {
        "missing": None,
        "empty": b"",
        "truncated": raw[: len(raw) // 2],
        "flipped byte": bytes(middle),
        "garbage": b"\x00" * 4096,
        "old pickle": pickle.dumps({"version": 1, "dims": DIMS, "parts": {}}),
    }
    target = make()
    target.add("keep", [42], vecs[:1])
    for name, content in cases.items():
        path = tmp_path / f"{name}.index"
        if content is not None:
            path.write_bytes(content)
        assert not target.load(path), name
        assert target.labels() == {42}, name  # a refused snapshot changes nothing
    assert not FlatIndex(DIMS + 1).load(good) and not HybridIndex(DIMS + 1).load(good)
    assert target.load(good) and len(target) == 100


# -- recall of the ANN path on real embeddings -------------------------------------------------


@pytest.fixture(scope="module")
def real_pairs(encoder: Encoder) -> tuple[Vecs, Vecs]:
    """Real prompt pairs from the dev data beside the checkout (as CI has it)."""
    try:
        path = dev_data("pairs_dev.jsonl")
    except FileNotFoundError:
        pytest.skip("dev data not beside this checkout")
    rows = [json.loads(line) for line in path.open()][:400]
    stored = encoder.encode(sorted({r["a"] for r in rows}))
    queries = encoder.encode(sorted({r["b"] for r in rows}))
    return stored, queries


def test_ann_recall_matches_exact_on_real_embeddings(real_pairs: tuple[Vecs, Vecs]) -> None:
    stored, queries = real_pairs
    exact, ann = FlatIndex(DIMS), HybridIndex(DIMS, ann_threshold=100)
    for index in (exact, ann):
        index.add("p", list(range(len(stored))), stored)
    assert ann.wait_idle(60)
    assert ann.partition_kinds() == {"p": "hnsw"}
    hits = 0
    for q in queries:
        (_, best), = exact.search("p", q, 1)
        (label, score), = ann.search("p", q, 1)
        assert abs(score - float(stored[label] @ q)) < 2e-3  # int8 re-rank ~ exact cosine
        hits += float(stored[label] @ q) >= best - 1e-6  # ties count as hits
    assert hits / len(queries) >= 0.99


def test_ann_recall_on_near_copies_of_real_embeddings(real_pairs: tuple[Vecs, Vecs]) -> None:
    """bench/search.py's harsh set in small: copies of real vectors at cosine ~0.9 to their
    source must be told apart (HNSW graphs, full-d or PCA-64, could not at scale)."""
    stored, _ = real_pairs
    rng = np.random.default_rng(7)
    copies = np.repeat(stored, 4, axis=0)
    copies = copies + rng.normal(0, 0.0247, copies.shape).astype(np.float32)
    data = np.concatenate([stored, copies / np.linalg.norm(copies, axis=1, keepdims=True)])
    exact, ann = FlatIndex(DIMS), HybridIndex(DIMS, ann_threshold=500)
    for index in (exact, ann):
        index.add("p", list(range(len(data))), data)
    assert ann.wait_idle(60) and ann.partition_kinds() == {"p": "hnsw"}
    picked = data[rng.integers(0, len(data), 300)]
    queries = picked + rng.normal(0, 0.0166, picked.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    hits = 0
    for q in queries:
        (_, best), = exact.search("p", q, 1)
        got = ann.search("p", q, 8)
        label, score = got[0]
        assert abs(score - float(data[label] @ q)) < 2e-3  # re-scored: near-exact cosines
        hits += float(data[label] @ q) >= best - 1e-6
    assert hits / len(queries) >= 0.99


# -- the switch to the graph happens in the background -----------------------------------------


@pytest.fixture
def held_build(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Holds every background graph build until the returned event is set."""
    from vectorcache.index import ann

    release = threading.Event()
    build = ann.AnnPartition.build.__func__  # type: ignore[attr-defined]

    def slow_build(cls: type, *args: object, **kwargs: object) -> object:
        assert release.wait(60)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(ann.AnnPartition, "build", classmethod(slow_build))
    return release


def test_conversion_does_not_block_and_journals_changes(held_build: threading.Event) -> None:
    index, vecs = HybridIndex(DIMS, ann_threshold=500), _unit(900, seed=8)
    started = time.perf_counter()
    index.add("p", list(range(600)), vecs[:600])  # crosses the threshold: the build starts
    assert time.perf_counter() - started < 5  # ... and add() returned while it is held
    assert index.converting() == {"p"} and index.partition_kinds() == {"p": "flat"}
    # meanwhile the flat partition takes changes and answers exactly
    index.add("p", list(range(600, 900)), vecs[600:900])
    index.add("p", [5], vecs[700:701])  # replace
    index.remove([10, 11, 650])
    index.add("q", [12], vecs[12:13])  # moved to another partition
    assert index.search("p", vecs[800], 1) == [(800, pytest.approx(1.0, abs=1e-6))]
    assert {lb for lb, _ in index.search("p", vecs[700], 2)} == {5, 700}
    held_build.set()
    assert index.wait_idle(60) and not index.converting()
    assert index.partition_kinds() == {"p": "hnsw", "q": "flat"}
    expected = set(range(900)) - {10, 11, 650}
    assert index.labels() == expected and len(index) == len(expected)
    assert {lb for lb, _ in index.search("p", vecs[700], 2)} == {5, 700}
    for i in (0, 599, 600, 899):
        assert index.search("p", vecs[i], 1)[0][0] == i
    for gone in (10, 11, 650, 12):
        assert gone not in {lb for lb, _ in index.search("p", vecs[gone], 5)}
    assert index.search("q", vecs[12], 1)[0][0] == 12


def test_searches_run_while_the_graph_is_built() -> None:
    """No lock is held during the (real) build: searches keep answering meanwhile."""
    index, vecs = HybridIndex(DIMS, ann_threshold=500), _unit(3000, seed=9)
    index.add("p", list(range(3000)), vecs)
    answered, converting_seen = 0, False
    while index.converting():
        converting_seen = True
        i = answered % 3000
        assert index.search("p", vecs[i], 1)[0][0] == i
        answered += 1
    assert index.wait_idle(60) and index.partition_kinds() == {"p": "hnsw"}
    assert not converting_seen or answered > 0
    assert all(index.search("p", vecs[i], 1)[0][0] == i for i in range(0, 3000, 97))


def test_emptied_or_reloaded_partition_cancels_its_conversion(
        held_build: threading.Event, tmp_path: Path) -> None:
    index, vecs = HybridIndex(DIMS, ann_threshold=50), _unit(120, seed=10)
    index.add("a", list(range(60)), vecs[:60])
    index.add("b", list(range(60, 120)), vecs[60:])
    assert index.converting() == {"a", "b"}
    index.remove(list(range(60)))  # "a" empties: dropped, its job is void
    assert index.converting() == {"b"}
    snap = tmp_path / "flat.index"
    FlatIndex(DIMS).save(snap)  # an empty snapshot replaces everything, "b"'s job too
    assert index.load(snap) and not index.converting()
    held_build.set()
    assert index.wait_idle(60)
    assert index.partition_kinds() == {} and len(index) == 0
    assert index.search("a", vecs[0], 3) == [] and index.search("b", vecs[70], 3) == []


def test_failed_conversion_leaves_the_partition_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    from vectorcache.index import ann

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no memory")

    monkeypatch.setattr(ann.AnnPartition, "build", broken)
    index, vecs = HybridIndex(DIMS, ann_threshold=50), _unit(80, seed=11)
    index.add("p", list(range(60)), vecs[:60])
    assert index.wait_idle(60) and index.partition_kinds() == {"p": "flat"}
    assert index.search("p", vecs[33], 1)[0][0] == 33
    index.add("p", list(range(60, 80)), vecs[60:])  # no retry before the partition doubles
    assert not index.converting()
    monkeypatch.undo()
    index.add("p", list(range(80, 120)), _unit(40, seed=12))
    assert index.wait_idle(60) and index.partition_kinds() == {"p": "hnsw"}
    assert index.search("p", vecs[33], 1)[0][0] == 33


def test_converted_partition_snapshot_round_trip(tmp_path: Path) -> None:
    """The trained index itself is in the snapshot: a load does not rebuild it."""
    index, vecs = HybridIndex(DIMS, ann_threshold=500), _unit(800, seed=12)
    index.add("p", list(range(700)), vecs[:700])
    index.add("small", list(range(700, 800)), vecs[700:])
    assert index.wait_idle(60)
    index.remove([3, 4])
    path = tmp_path / "snap.index"
    index.save(path)
    loaded = HybridIndex(DIMS, ann_threshold=500)
    assert loaded.load(path)
    assert not loaded.converting()  # nothing to build: the graph came from the file
    assert loaded.partition_kinds() == {"p": "hnsw", "small": "flat"}
    assert loaded.labels() == index.labels() and len(loaded) == 798
    for part, i in (("p", 0), ("p", 699), ("small", 750)):
        assert loaded.search(part, vecs[i], 5) == index.search(part, vecs[i], 5)
    loaded.add("p", [3, 5000], vecs[3:5])
    assert loaded.search("p", vecs[4], 1)[0][0] == 5000 and len(loaded) == 800


def test_flat_snapshot_loaded_by_hybrid_converts_in_background(tmp_path: Path) -> None:
    flat, vecs = FlatIndex(DIMS), _unit(600, seed=13)
    flat.add("p", list(range(600)), vecs)
    path = tmp_path / "flat.index"
    flat.save(path)
    hybrid = HybridIndex(DIMS, ann_threshold=500)
    assert hybrid.load(path)
    assert hybrid.search("p", vecs[9], 1)[0][0] == 9  # exact while converting
    assert hybrid.wait_idle(60) and hybrid.partition_kinds() == {"p": "hnsw"}
    assert hybrid.search("p", vecs[9], 1)[0][0] == 9


def test_ann_partition_is_rebuilt_in_the_background_as_it_grows() -> None:
    """IVF lists are trained for a size; past AnnParams.regrow x that size the partition is
    retrained from its own codes, off the caller's thread, and keeps its contents."""
    from vectorcache.index.ann import AnnParams

    index, vecs = HybridIndex(DIMS, ann_threshold=100), _unit(100 * AnnParams.regrow + 50, 14)
    index.add("p", list(range(100)), vecs[:100])
    assert index.wait_idle(60)
    first = index._parts["p"]
    assert first.trained_size == 100
    index.add("p", list(range(100, len(vecs))), vecs[100:])
    index.remove([7])
    assert index.wait_idle(60)
    second = index._parts["p"]
    assert second is not first and second.trained_size >= 100 * AnnParams.regrow
    assert index.labels() == set(range(len(vecs))) - {7} and second.size == len(vecs) - 1
    for i in (0, 99, 100, len(vecs) - 1):
        assert index.search("p", vecs[i], 1)[0][0] == i
    assert 7 not in {lb for lb, _ in index.search("p", vecs[7], 5)}


def test_changes_during_a_rebuild_are_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild copies the old lists piecemeal (the lock is let go between lists) and replays
    every change made meanwhile as a replace: nothing is lost or duplicated."""
    from vectorcache.index import ann

    index, vecs = HybridIndex(DIMS, ann_threshold=100), _unit(1000, seed=15)
    index.add("p", list(range(100)), vecs[:100])
    assert index.wait_idle(60) and index.partition_kinds() == {"p": "hnsw"}
    release = threading.Event()
    build = ann.AnnPartition.build.__func__  # type: ignore[attr-defined]

    def held(cls: type, *args: object, **kwargs: object) -> object:
        assert release.wait(60)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(ann.AnnPartition, "build", classmethod(held))
    index.add("p", list(range(100, 900)), vecs[100:900])  # 9x the training size: rebuild
    assert index.converting() == {"p"}
    index.add("p", [5], vecs[950:951])  # replace
    index.add("p", list(range(900, 950)), vecs[900:950])
    index.remove([6, 901])
    assert index.search("p", vecs[920], 1)[0][0] == 920  # the old partition answers
    release.set()
    assert index.wait_idle(60) and index._parts["p"].trained_size >= 900
    expected = set(range(950)) - {6, 901}
    assert index.labels() == expected and index._parts["p"].size == len(expected)
    assert sorted(index._parts["p"].held().tolist()) == sorted(expected)  # no duplicates
    assert index.search("p", vecs[950], 1)[0][0] == 5
    assert 5 not in {lb for lb, _ in index.search("p", vecs[5], 3)}
    assert index.search("p", vecs[920], 1)[0][0] == 920
