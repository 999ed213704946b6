"""Vectorcache vs GPTCache, side by side in one run: hit latency (p50) and hit throughput.

Both hold the same 1,000 real dev prompts and are asked the same real paraphrases (pairs_dev
``same`` pairs at cosine >= 0.87), with the same model files: GPTCache gets a custom embedding
function running the ONNX file Vectorcache's server runs (~/.cache/vectorcache/models, int8 by
default) with the bundled tokenizer, and its own SQLite + FAISS stack, cosine floor 0.85 as Vectorcache's default.
GPTCache runs in its own virtualenv (/tmp/gptcache-venv, created if missing: it pip-installs
packages at run time) as a subprocess that prints JSON. GPTCache is a library: it is measured
in-process (no HTTP), which favours it; Vectorcache is measured over loopback HTTP.

    python -m bench.gptcache_compare            # ~3 min (+ ~2 min to create the venv once)
    python -m bench.gptcache_compare --write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench import _common as c

TITLE = "bench/gptcache_compare.py"
VENV = Path("/tmp/gptcache-venv")
PIP = (["torch==2.13.0"], ["gptcache", "onnxruntime", "tokenizers", "faiss-cpu", "numpy",
                           "sqlalchemy"])

CHILD = r'''
import json, os, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
from gptcache import Cache, Config
from gptcache.adapter.api import get, put
from gptcache.manager import CacheBase, VectorBase, get_data_manager
from gptcache.processor.pre import get_prompt
from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

job = json.load(open(sys.argv[1]))
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1  # as Vectorcache runs the int8 model: one call per core
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(job["onnx"], sess_options=opts, providers=["CPUExecutionProvider"])
tok = Tokenizer.from_file(job["tokenizer"])
tok.enable_truncation(max_length=256)

known = dict(zip(job["stored"], np.load(job["stored_vectors"])))  # fill only: not timed
embed_ms = []
filling = True

def embed(text, **_):
    if filling and text in known:
        return known[text]
    t = time.perf_counter()
    e = tok.encode(text)
    ids = np.array([e.ids], dtype=np.int64)
    mask = np.array([e.attention_mask], dtype=np.int64)
    types = np.array([e.type_ids], dtype=np.int64)
    (hidden,) = session.run(["last_hidden_state"], {  # thread-safe: threads run at once
        "input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    w = mask[:, :, None].astype(np.float32)
    v = ((hidden * w).sum(axis=1) / w.sum(axis=1))[0]
    embed_ms.append((time.perf_counter() - t) * 1e3)
    return (v / np.linalg.norm(v)).astype(np.float32)

work = tempfile.mkdtemp(prefix="gptcache-bench-")
dm = get_data_manager(CacheBase("sqlite", sql_url=f"sqlite:///{work}/cache.db"),
                      VectorBase("faiss", dimension=384, index_path=f"{work}/faiss.index"),
                      max_size=1_000_000)
cache = Cache()
# SearchDistanceEvaluation scores 4 - squared L2 on a 0..4 range: threshold t means
# squared L2 <= 4 (1 - t), i.e. cosine >= 1 - 2 (1 - t); t = 0.925 <=> cosine >= 0.85
cache.init(pre_embedding_func=get_prompt, embedding_func=embed, data_manager=dm,
           similarity_evaluation=SearchDistanceEvaluation(),
           config=Config(similarity_threshold=0.925))
t = time.perf_counter()
cache.import_data(questions=job["stored"], answers=[f"Answer to: {q}" for q in job["stored"]])
fill_s = time.perf_counter() - t
filling = False
for q in job["queries"][:30]:
    get(q, cache_obj=cache)
embed_ms.clear()
lat, hits = [], 0
for _ in range(job["rounds"]):
    for q in job["queries"]:
        t = time.perf_counter()
        answer = get(q, cache_obj=cache)
        lat.append((time.perf_counter() - t) * 1e3)
        hits += answer is not None
seq_s = sum(lat) / 1e3
embed_p50 = sorted(embed_ms)[len(embed_ms) // 2]
threaded = None
try:
    with ThreadPoolExecutor(8) as pool:
        t = time.perf_counter()
        got = list(pool.map(lambda q: get(q, cache_obj=cache), job["queries"] * job["rounds"]))
        threaded = {"hits": sum(a is not None for a in got),
                    "per_s": len(got) / (time.perf_counter() - t)}
except Exception as exc:
    threaded = {"error": repr(exc)[:300]}
lat.sort()
print("GPTJSON " + json.dumps({
    "fill_s": fill_s, "n": len(lat), "hits": hits, "p50": lat[len(lat) // 2],
    "p95": lat[int(len(lat) * 0.95)], "embed_p50": embed_p50, "seq_per_s": len(lat) / seq_s, "threads8": threaded,
    "gptcache": __import__("gptcache").__version__}))
'''


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    probe = "import gptcache, faiss, onnxruntime, tokenizers, sqlalchemy"
    if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True,
                                          check=False).returncode == 0:
        return python
    print(f"creating {VENV} (GPTCache pip-installs at run time: kept out of the repo)",
          flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    for group in PIP:  # the pinned CPU torch first, or a CUDA build gets pulled in
        subprocess.run([str(python), "-m", "pip", "install", "-q", *group], check=True)
    return python


def gptcache_side(co: c.Corpus, stored: list[str], queries: list[str],
                  rounds: int) -> dict[str, Any]:
    from vectorcache.embeddings.shipped import shipped_model
    from vectorcache.settings import Settings

    spec = shipped_model(Settings().embedding_model)  # the very model file the server runs
    job = {"onnx": str(spec.onnx_file),
           "tokenizer": str(spec.tokenizer_file), "stored": stored,
           "queries": queries, "rounds": rounds,
           "stored_vectors": str(c.CACHE / "gptcache_stored.npy")}
    c.CACHE.mkdir(parents=True, exist_ok=True)
    np.save(c.CACHE / "gptcache_stored.npy", co.vectors[: len(stored)])
    (c.CACHE / "gptcache_job.json").write_text(json.dumps(job))
    (c.CACHE / "gptcache_child.py").write_text(CHILD)
    # the thread settings Vectorcache's server uses, so neither side's BLAS/OpenMP workers spin
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    out = subprocess.run([str(ensure_venv()), str(c.CACHE / "gptcache_child.py"),
                          str(c.CACHE / "gptcache_job.json")], capture_output=True, text=True,
                         cwd="/tmp", check=False, env=env)
    line = next((x for x in out.stdout.splitlines() if x.startswith("GPTJSON ")), None)
    if line is None:
        raise RuntimeError(f"GPTCache side failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(line.removeprefix("GPTJSON "))
    return result


def vectorcache_side(co: c.Corpus, rounds: int, seconds: int) -> dict[str, Any]:
    """Vectorcache's figures, and the paraphrases it serves as hits (asked of both)."""
    filled = c.fill(1000, co)
    data_dir = c.scratch_copy(filled, "gptcache_compare")
    provider = c.Provider(filled.provider_port)
    try:
        with c.Server(data_dir) as server:
            h = {"Authorization": f"Bearer {filled.key}"}
            queries = c.semantic_hits(server.base, filled.key, co.paraphrases)
            lat, server_ms, embed_ms, hits = [], [], [], 0
            with httpx.Client(base_url=server.base, headers=h, timeout=60) as http:
                for q in queries[:30]:
                    http.post("/v1/cache/lookup", json=c.query_body(q))
                for _ in range(rounds):
                    for q in queries:
                        t = time.perf_counter()
                        body = http.post("/v1/cache/lookup",
                                         json=c.query_body(q, debug=True)).json()
                        lat.append((time.perf_counter() - t) * 1e3)
                        hits += bool(body.get("cache_hit"))
                        server_ms.append(body["debug"]["total_time_ms"])
                        embed_ms.append(body["debug"].get("embedding_time_ms", 0.0))
            url = f"{server.base}/v1/cache/lookup"
            bodies = [c.query_body(q) for q in queries]
            w1 = c.wrk(url, filled.key, bodies, connections=1, seconds=seconds)
            w32 = c.wrk(url, filled.key, bodies, connections=32, seconds=seconds)
    finally:
        provider.stop()
    s = c.summary(lat)
    return {"queries": queries, "n": len(lat), "hits": hits, "p50": s["p50"], "p95": s["p95"],
            "server_p50": c.pct(server_ms, 50), "embed_p50": c.pct(embed_ms, 50),
            "seq_per_s": len(lat) / (sum(lat) / 1e3), "wrk1": w1, "wrk32": w32}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=12, help="per wrk run (default 12)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    co = c.corpus()
    stored = co.stored[:1000]
    v = vectorcache_side(co, args.rounds, args.seconds)
    print(f"Vectorcache (HTTP): hits {v['hits']}/{v['n']}; hit p50 {v['p50']:.2f} ms p95 "
          f"{v['p95']:.2f} (server {v['server_p50']:.2f}, embedding p50 {v['embed_p50']:.2f}); "
          f"wrk c=1 {v['wrk1']['hits_per_s']:.0f} hits/s; c=32 "
          f"{v['wrk32']['hits_per_s']:.0f} hits/s", flush=True)
    g = gptcache_side(co, stored, v["queries"], args.rounds)
    print(f"GPTCache {g['gptcache']} (in-process): filled 1000 in {g['fill_s']:.0f} s; hits "
          f"{g['hits']}/{g['n']}; hit p50 {g['p50']:.2f} ms p95 {g['p95']:.2f} (its embedding p50 "
          f"{g['embed_p50']:.2f}); sequential "
          f"{g['seq_per_s']:.0f}/s; 8 threads {g['threads8']}", flush=True)
    g8 = g["threads8"].get("per_s") if isinstance(g["threads8"], dict) else None
    g_best = max(g["seq_per_s"], g8 or 0.0)
    ratio_tp = v["wrk32"]["hits_per_s"] / g_best
    ratio_lat = g["p50"] / v["p50"]
    verdict = (f"Hit throughput: Vectorcache {v['wrk32']['hits_per_s']:.0f} hits/s (HTTP, c=32) vs "
               f"GPTCache's best {g_best:.0f}/s (in-process) = {ratio_tp:.1f}× (target ≥ 10× → "
               f"{'met' if ratio_tp >= 10 else 'NOT met'}). Hit latency p50: GPTCache "
               f"{g['p50']:.2f} ms / Vectorcache {v['p50']:.2f} ms = {ratio_lat:.1f}×.")
    print(verdict)
    if args.write:
        g8_text = (f"{g8:.0f}" if g8 else f"failed: {g['threads8'].get('error')}")
        c.write_section(TITLE, f"""
{c.header("gptcache_compare.py")}

Setup: both caches hold the same 1,000 dev prompts and are asked the same {len(v['queries'])} real
paraphrases × {args.rounds}, embedded by the same int8 ONNX file. GPTCache {g['gptcache']} (SQLite + FAISS,
threshold = cosine 0.85) runs **in-process**, which favours it; Vectorcache is `vectorcache serve`
over loopback HTTP (`/v1/cache/lookup`).

| | hits / asked | hit p50 ms | p95 ms | of which embedding p50 ms | sequential hits/s | concurrent hits/s |
|---|---|---|---|---|---|---|
| GPTCache (in-process) | {g['hits']}/{g['n']} | {g['p50']:.2f} | {g['p95']:.2f} | {g['embed_p50']:.2f} | {g['seq_per_s']:.0f} | {g8_text} (8 threads) |
| Vectorcache (HTTP) | {v['hits']}/{v['n']} | {v['p50']:.2f} (server {v['server_p50']:.2f}) | {v['p95']:.2f} | {v['embed_p50']:.2f} | {v['wrk1']['hits_per_s']:.0f} (wrk c=1) | {v['wrk32']['hits_per_s']:.0f} (wrk c=32) |

Reading: {verdict}
A Vectorcache hit still costs ~4 ms of CPU (HTTP, auth, JSON, search, decision) on the cores the
load generator shares, where GPTCache is called in-process.
""")


if __name__ == "__main__":
    main()
