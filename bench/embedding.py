"""Embedding backends on real dev prompts: one-prompt p50/p95, batch-32 throughput, RSS, agreement.

Each backend runs in its own subprocess so its RSS and import cost are its own.

    python -m bench.embedding            # reference (sentence-transformers) vs onnx fp32 / int8
    python -m bench.embedding --write    # also update the "## bench/embedding.py" section
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".vectorcache" / "bench"
PAIRS = Path("/work/shared/data/pairs_dev.jsonl")
SINGLE, BATCHES, COSINE_N = 200, 8, 400  # COSINE_N texts = COSINE_N / 2 dev pairs
IDLE_S = 0.005  # a quiet gap before each call, as between one client's requests


def prompts() -> list[str]:
    rows = [json.loads(line) for line in PAIRS.open()]
    random.Random(7).shuffle(rows)
    return [r[side] for r in rows for side in ("a", "b")]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_encoder(backend: str) -> Any:
    if backend == "reference":
        from vectorcache.embeddings.reference import ReferenceEncoder

        return ReferenceEncoder()
    from vectorcache.embeddings.onnx import OnnxEncoder

    return OnnxEncoder(CACHE / "models", precision=backend.removeprefix("onnx-"))


def _p50_ms(encoder: Any, texts: list[str], idle_s: float = 0.0) -> tuple[float, float]:
    times = []
    for text in texts:
        if idle_s:
            time.sleep(idle_s)
        t = time.perf_counter()
        encoder.encode([text])
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e3, times[int(len(times) * 0.95)] * 1e3


def child(backend: str) -> None:
    texts = prompts()
    t = time.perf_counter()
    encoder = make_encoder(backend)
    ready = time.perf_counter() - t
    for text in texts[:20]:
        encoder.encode([text])
    p50, p95 = _p50_ms(encoder, texts[:SINGLE])
    idle_p50, _ = _p50_ms(encoder, texts[:SINGLE], IDLE_S)
    batch = texts[SINGLE:SINGLE + 32 * BATCHES]
    t = time.perf_counter()
    for i in range(0, len(batch), 32):
        encoder.encode(batch[i:i + 32])
    throughput = len(batch) / (time.perf_counter() - t)
    vectors = encoder.encode(texts[:COSINE_N])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(CACHE / f"cos-{backend}.npy", vectors)
    print(json.dumps({"backend": backend, "ready_s": ready, "p50_ms": p50, "p95_ms": p95,
                      "idle_p50_ms": idle_p50, "batch32_per_s": throughput,
                      "rss_mb": rss_mb(), "torch_imported": "torch" in sys.modules}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    backends = ["reference", "onnx-fp32", "onnx-int8"]
    results = []
    for backend in backends:
        out = subprocess.run([sys.executable, "-m", "bench.embedding", "--child", backend],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    reference = np.load(CACHE / "cos-reference.npy")
    ref_pairs = (reference[0::2] * reference[1::2]).sum(axis=1)  # (a, b) of each dev pair
    for r in results:
        vectors = np.load(CACHE / f"cos-{r['backend']}.npy")
        cos = (vectors * reference).sum(axis=1)
        moved = np.abs((vectors[0::2] * vectors[1::2]).sum(axis=1) - ref_pairs)
        r["min_cos"], r["mean_cos"] = float(cos.min()), float(cos.mean())
        r["pair_p50"], r["pair_max"] = float(np.median(moved)), float(moved.max())
        print(f"{r['backend']:10} ready {r['ready_s']:.1f} s  one prompt p50 {r['p50_ms']:.2f} ms"
              f" p95 {r['p95_ms']:.2f} ms  after {IDLE_S * 1e3:.0f} ms idle p50 "
              f"{r['idle_p50_ms']:.2f} ms  batch-32 {r['batch32_per_s']:.0f}/s  RSS "
              f"{r['rss_mb']:.0f} MB  cosine vs reference min {r['min_cos']:.5f} mean "
              f"{r['mean_cos']:.5f}  pair similarity moved p50 {r['pair_p50']:.4f} max "
              f"{r['pair_max']:.4f}  torch imported: {r['torch_imported']}", flush=True)
    if args.write:
        table = "\n".join(
            f"| {r['backend']} | {r['ready_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['idle_p50_ms']:.2f} | {r['batch32_per_s']:.0f} | {r['rss_mb']:.0f} | "
            f"{r['min_cos']:.4f} / {r['mean_cos']:.4f} | {r['pair_p50']:.4f} / "
            f"{r['pair_max']:.3f} | {'yes' if r['torch_imported'] else 'no'} |" for r in results)
        command = "python -m bench.embedding " + " ".join(sys.argv[1:])
        write_section("bench/embedding.py", f"""
Command: `{command.strip()}` — {dt.date.today().isoformat()}, {machine()}.

Setup: all-MiniLM-L6-v2 on real dev prompts: {SINGLE} single prompts back to back, the same with
{IDLE_S * 1e3:.0f} ms idle before each, {BATCHES} batches of 32, and agreement with the sentence-transformers
reference on {COSINE_N // 2} dev pairs. Each backend in its own process; onnx-int8 is the server's default.

| backend | ready s | one prompt p50 ms | p95 ms | after idle p50 ms | batch-32 texts/s | RSS MB | cosine vs reference min / mean | pair similarity moved p50 / max | torch |
|---|---|---|---|---|---|---|---|---|---|
{table}

Reading: int8 is the fastest and smallest, and moves a pair's similarity (what the hit decision
reads) by less than a hundredth at the median; the verifier is trained on its vectors.
""")


if __name__ == "__main__":
    main()
