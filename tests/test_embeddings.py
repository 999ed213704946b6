"""The ONNX encoder against the sentence-transformers reference, and the micro-batching embedder."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from vectorcache.embeddings.base import Vectors
from vectorcache.embeddings.batching import BatchingEmbedder
from vectorcache.embeddings.onnx import OnnxEncoder, ensure_onnx_model, weights_key
from vectorcache.embeddings.reference import ReferenceEncoder, bundled_model_dir
from vectorcache.errors import ServiceUnavailable


def _prompts(n: int) -> list[str]:
    """Real-world-shaped prompts of our own (questions, instructions, other scripts)."""
    lines = (Path(__file__).parent / "data" / "prompts.txt").read_text("utf-8").splitlines()
    return [line for line in lines if line.strip()][:n]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    ensure_onnx_model(Path(bundled_model_dir()), cache)
    return cache


@pytest.fixture(scope="session")
def onnx_encoder(model_cache: Path) -> OnnxEncoder:
    return OnnxEncoder(model_cache)


@pytest.fixture(scope="session")
def reference() -> ReferenceEncoder:
    return ReferenceEncoder()


# -- OnnxEncoder ---------------------------------------------------------------------------


def test_onnx_matches_reference_on_real_prompts(
    onnx_encoder: OnnxEncoder, reference: ReferenceEncoder
) -> None:
    texts = _prompts(20) + ["word " * 400]  # one past the 256-token truncation
    got, want = onnx_encoder.encode(texts), reference.encode(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * want).sum(axis=1).min()) >= 0.9999


def test_onnx_batch_equals_single(onnx_encoder: OnnxEncoder) -> None:
    texts = _prompts(12)
    batch = onnx_encoder.encode(texts)  # padded to the longest: must not change any row
    single = np.vstack([onnx_encoder.encode([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-5)
    assert onnx_encoder.encode([]).shape == (0, 384)


@pytest.fixture(scope="session")
def int8_encoder(model_cache: Path) -> OnnxEncoder:
    return OnnxEncoder(model_cache, precision="int8")


def test_int8_stays_close_to_the_reference(
    int8_encoder: OnnxEncoder, reference: ReferenceEncoder
) -> None:
    texts = _prompts(40) + ["word " * 400]
    got, want = int8_encoder.encode(texts), reference.encode(texts)
    agreement = (got * want).sum(axis=1)
    # measured on these prompts: min 0.989, mean 0.995; pair similarity moved max 0.04
    assert float(agreement.min()) >= 0.98 and float(agreement.mean()) >= 0.99
    # what the cache decides on is pair similarity: it moves by a few hundredths at most
    moved = np.abs(got @ got.T - want @ want.T)
    assert float(moved.max()) <= 0.05 and float(np.median(moved)) <= 0.01


def test_int8_vector_does_not_depend_on_the_batch(int8_encoder: OnnxEncoder) -> None:
    texts = _prompts(12)
    alone = np.vstack([int8_encoder.encode([t]) for t in texts])
    assert np.array_equal(int8_encoder.encode(texts), alone)  # bit for bit, under any load


def test_unknown_precision_is_refused(model_cache: Path) -> None:
    with pytest.raises(ValueError, match="precision"):
        ensure_onnx_model(Path(bundled_model_dir()), model_cache, "int4")


def test_export_is_reused_not_redone(model_cache: Path) -> None:
    first = ensure_onnx_model(Path(bundled_model_dir()), model_cache)
    stamp = first.stat().st_mtime_ns
    assert ensure_onnx_model(Path(bundled_model_dir()), model_cache) == first
    assert first.stat().st_mtime_ns == stamp
    assert not list(model_cache.glob("*.tmp"))


def test_weights_key_follows_the_weights(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"one")
    before = weights_key(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"two")
    assert weights_key(tmp_path) != before


def test_start_with_existing_export_does_not_import_torch(model_cache: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from vectorcache.embeddings.onnx import OnnxEncoder\n"
        f"e = OnnxEncoder(Path({str(model_cache)!r}))\n"
        "assert e.encode(['hello']).shape == (1, 384)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- BatchingEmbedder ------------------------------------------------------------------------


class _FakeEncoder:
    """Deterministic vectors from the text; slow enough for batches to form; fails on 'boom'."""

    model_id = "fake"
    dims = 8

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.batch_sizes: list[int] = []
        self.closed = False
        self.threads: set[str] = set()

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.threads.add(threading.current_thread().name)
        self.batch_sizes.append(len(texts))
        time.sleep(self.delay)
        if any("boom" in t for t in texts):
            raise ValueError("cannot embed boom")
        return self.expected(texts)

    def expected(self, texts: Sequence[str]) -> Vectors:
        rows = [[hash((t, i)) % 1000 for i in range(self.dims)] for t in texts]
        return np.array(rows, dtype=np.float32)

    def close(self) -> None:
        self.closed = True


def test_concurrent_callers_get_their_own_vectors(onnx_encoder: OnnxEncoder) -> None:
    texts = _prompts(24)
    single = {t: onnx_encoder.encode([t])[0] for t in texts}

    async def main() -> tuple[list[Vectors], int]:
        embedder = BatchingEmbedder(onnx_encoder, max_batch=16)
        calls = [texts[i:i + 1 + i % 3] for i in range(len(texts))]
        results = await asyncio.gather(*(embedder.embed(c) for c in calls))
        for call, got in zip(calls, results, strict=True):
            assert got.shape == (len(call), 384)
            for text, row in zip(call, got, strict=True):
                assert np.allclose(row, single[text], atol=1e-5)
        return results, embedder.batches_run

    results, batches = asyncio.run(main())
    assert batches < len(results)  # calls were coalesced


def test_batches_form_and_respect_max_batch() -> None:
    fake = _FakeEncoder()

    async def main() -> BatchingEmbedder:
        embedder = BatchingEmbedder(fake, max_batch=10)
        got = await asyncio.gather(*(embedder.embed([f"t{i}", f"u{i}"]) for i in range(40)))
        for i, vectors in enumerate(got):
            assert np.array_equal(vectors, fake.expected([f"t{i}", f"u{i}"]))
        await embedder.close()
        return embedder

    embedder = asyncio.run(main())
    assert embedder.texts_embedded == 80
    assert embedder.batches_run < 40 and max(fake.batch_sizes) <= 10
    assert fake.closed and fake.threads == {"embed-batcher"}


def test_idle_call_goes_straight_through() -> None:
    fake = _FakeEncoder(delay=0.0)

    async def main() -> float:
        embedder = BatchingEmbedder(fake)
        await embedder.embed(["warm"])
        start = time.perf_counter()
        await embedder.embed(["one"])
        elapsed = time.perf_counter() - start
        await embedder.close()
        return elapsed

    assert asyncio.run(main()) < 0.05
    assert fake.batch_sizes == [1, 1]


def test_errors_reach_only_the_failing_caller() -> None:
    fake = _FakeEncoder()

    async def main() -> list[object]:
        embedder = BatchingEmbedder(fake)
        calls = [["fine a"], ["boom"], ["fine b", "fine c"], ["also boom", "x"]]
        results = await asyncio.gather(*(embedder.embed(c) for c in calls),
                                       return_exceptions=True)
        await embedder.close()
        return results

    ok_a, bad, ok_b, bad2 = asyncio.run(main())
    assert isinstance(bad, ValueError) and isinstance(bad2, ValueError)
    assert isinstance(ok_a, np.ndarray) and ok_a.shape == (1, 8)
    assert isinstance(ok_b, np.ndarray) and ok_b.shape == (2, 8)


def test_close_drains_queued_calls_then_refuses() -> None:
    fake = _FakeEncoder(delay=0.02)

    async def main() -> None:
        embedder = BatchingEmbedder(fake, max_batch=2)
        pending = [asyncio.ensure_future(embedder.embed([f"t{i}"])) for i in range(7)]
        await asyncio.sleep(0)  # let them enqueue
        await embedder.close()
        assert all(p.done() and p.exception() is None for p in pending)
        with pytest.raises(ServiceUnavailable):
            await embedder.embed(["late"])

    asyncio.run(main())
    assert sum(fake.batch_sizes) == 7 and fake.closed


def test_cancelled_caller_does_not_break_the_others() -> None:
    fake = _FakeEncoder(delay=0.05)

    async def main() -> None:
        embedder = BatchingEmbedder(fake)
        first = asyncio.ensure_future(embedder.embed(["first"]))
        doomed = asyncio.ensure_future(embedder.embed(["doomed"]))
        other = asyncio.ensure_future(embedder.embed(["other"]))
        await asyncio.sleep(0.01)
        doomed.cancel()
        assert (await first).shape == (1, 8) and (await other).shape == (1, 8)
        await embedder.close()

    asyncio.run(main())


def test_parallel_encoder_gets_one_worker_per_call_it_can_run() -> None:
    fake = _FakeEncoder(delay=0.05)
    fake.parallel_calls = 2  # type: ignore[attr-defined]  # what the int8 encoder says on 2 cores

    async def main() -> BatchingEmbedder:
        embedder = BatchingEmbedder(fake)
        got = await asyncio.gather(*(embedder.embed([f"t{i}"]) for i in range(6)))
        for i, vectors in enumerate(got):
            assert np.array_equal(vectors, fake.expected([f"t{i}"]))
        await embedder.close()
        return embedder

    embedder = asyncio.run(main())
    assert embedder.workers == 2 and embedder.texts_embedded == 6
    assert fake.threads == {"embed-batcher", "embed-batcher-1"}  # both ran calls
    assert fake.closed


def test_int8_encoder_runs_side_by_side_calls(int8_encoder: OnnxEncoder) -> None:
    texts = _prompts(16)
    alone = int8_encoder.encode(texts)
    got: dict[int, Vectors] = {}

    def call(i: int) -> None:
        got[i] = int8_encoder.encode(texts[i::4])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(4):  # calls running at once: the same vectors, bit for bit
        assert np.array_equal(got[i], alone[i::4])
