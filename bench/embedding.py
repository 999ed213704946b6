"""Embedding backends on real dev prompts: one-prompt p50/p95, batch-32 throughput, RSS, cosine.

Each backend runs in its own subprocess so its RSS and import cost are its own.

    python bench/embedding.py            # reference (sentence-transformers) vs onnx fp32
    python bench/embedding.py --int8     # also onnxruntime dynamic int8 (rejected; for the record)
    python bench/embedding.py --write    # also update the "## bench/embedding.py" section
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".vectorcache" / "bench"
PAIRS = Path("/work/shared/data/pairs_dev.jsonl")
SINGLE, BATCHES, COSINE_N = 200, 8, 200


def prompts() -> list[str]:
    rows = [json.loads(line) for line in PAIRS.open()]
    random.Random(7).shuffle(rows)
    return [r[side] for r in rows for side in ("a", "b")]


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_encoder(backend: str) -> Any:
    if backend == "reference":
        from vectorcache.embeddings.reference import ReferenceEncoder

        return ReferenceEncoder()
    from vectorcache.embeddings.onnx import OnnxEncoder, ensure_onnx_model

    if backend == "onnx-int8":  # quantise the cached export into a scratch copy
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from vectorcache.embeddings.reference import bundled_model_dir

        fp32 = ensure_onnx_model(Path(bundled_model_dir()), CACHE / "models")
        encoder = OnnxEncoder(CACHE / "models")
        with tempfile.TemporaryDirectory() as tmp:
            int8 = Path(tmp) / "int8.onnx"
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            encoder._session = ort.InferenceSession(str(int8), opts,
                                                    providers=["CPUExecutionProvider"])
        return encoder
    return OnnxEncoder(CACHE / "models")


def child(backend: str) -> None:
    texts = prompts()
    t = time.perf_counter()
    encoder = make_encoder(backend)
    ready = time.perf_counter() - t
    for text in texts[:20]:
        encoder.encode([text])
    times = []
    for text in texts[:SINGLE]:
        t = time.perf_counter()
        encoder.encode([text])
        times.append(time.perf_counter() - t)
    times.sort()
    batch = texts[SINGLE:SINGLE + 32 * BATCHES]
    t = time.perf_counter()
    for i in range(0, len(batch), 32):
        encoder.encode(batch[i:i + 32])
    throughput = len(batch) / (time.perf_counter() - t)
    vectors = encoder.encode(texts[:COSINE_N])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(CACHE / f"cos-{backend}.npy", vectors)
    print(json.dumps({"backend": backend, "ready_s": ready, "p50_ms": times[len(times) // 2] * 1e3,
                      "p95_ms": times[int(len(times) * 0.95)] * 1e3, "batch32_per_s": throughput,
                      "rss_mb": rss_mb(), "torch_imported": "torch" in sys.modules}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    backends = ["reference", "onnx"] + (["onnx-int8"] if args.int8 else [])
    results = []
    for backend in backends:
        out = subprocess.run([sys.executable, __file__, "--child", backend], check=True,
                             capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    reference = np.load(CACHE / "cos-reference.npy")
    for r in results:
        cos = (np.load(CACHE / f"cos-{r['backend']}.npy") * reference).sum(axis=1)
        r["min_cos"], r["mean_cos"] = float(cos.min()), float(cos.mean())
        print(f"{r['backend']:10} ready {r['ready_s']:.1f} s  one prompt p50 {r['p50_ms']:.1f} ms"
              f" p95 {r['p95_ms']:.1f} ms  batch-32 {r['batch32_per_s']:.0f}/s  RSS "
              f"{r['rss_mb']:.0f} MB  cosine vs reference min {r['min_cos']:.5f} mean "
              f"{r['mean_cos']:.5f}  torch imported: {r['torch_imported']}", flush=True)
    if args.write:
        table = "\n".join(
            f"| {r['backend']} | {r['ready_s']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['batch32_per_s']:.0f} | {r['rss_mb']:.0f} | {r['min_cos']:.5f} | "
            f"{'yes' if r['torch_imported'] else 'no'} |" for r in results)
        command = "python bench/embedding.py " + " ".join(sys.argv[1:])
        write_section("bench/embedding.py", f"""
Command: `{command.strip()}` — {dt.date.today().isoformat()}, {machine()}.

all-MiniLM-L6-v2 on real prompts from `pairs_dev.jsonl` (shuffled, seed 7): {SINGLE} single
prompts, {BATCHES} batches of 32, cosine vs the sentence-transformers reference on {COSINE_N}
prompts. Each backend in its own process; "ready" is import + model load (the ONNX export
already cached). onnx-int8 (if shown) is onnxruntime dynamic per-channel int8: **rejected**,
min cosine below the 0.99 bar.

| backend | ready s | one prompt p50 ms | p95 ms | batch-32 texts/s | RSS MB | min cosine | torch |
|---|---|---|---|---|---|---|---|
{table}
""")


if __name__ == "__main__":
    main()
