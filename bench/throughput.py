"""Hits/s and misses/s over HTTP at concurrency 1, 8, 32, next to the embedding model's own
batched ceiling (the encoder alone on every core, batches of 32) measured in the same run.

A real ``vectorcache serve`` on a copy of the 1k-entry data dir; the provider is the loopback
``FakeProvider`` (answers at once) in its own process; the load comes from ``wrk`` (one thread,
C, with a Lua script that cycles through JSON bodies), so the client costs little CPU.
Hits: real paraphrases of stored prompts (every one a semantic hit: embed -> search -> decide).
Misses: real dev prompts not stored, made unique with a counter and sent with
``similarity_threshold: 0.999`` so each is a miss (embed, search, provider call, store).

    python -m bench.throughput              # ~3 min
    python -m bench.throughput --seconds 20 --write
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from bench import _common as c

TITLE = "bench/throughput.py"
LEVELS = (1, 8, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=12, help="per load level (default 12)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per level; the median run (by rate) is reported")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    co = c.corpus()
    filled = c.fill(1000, co)
    data_dir = c.scratch_copy(filled, "throughput")
    miss_bodies = [c.query_body(f"{t} (#__N__)", similarity_threshold=0.999)
                   for t in co.stored[1000:]]
    ceilings = [c.ceiling(co.paraphrases)]
    print(f"encoder ceiling (batch 32, bench process): {ceilings[0]:.0f} prompts/s", flush=True)
    provider = c.Provider(filled.provider_port)
    results: dict[str, dict[int, dict[str, Any]]] = {"hit": {}, "miss": {}}
    try:
        with c.Server(data_dir) as server:
            url = f"{server.base}/v1/cache/query"
            hit_bodies = [c.query_body(q) for q in c.semantic_hits(server.base, filled.key,
                                                                   co.paraphrases)]
            c.wrk(url, filled.key, hit_bodies, connections=8, seconds=3)  # warm-up
            for kind, bodies in (("hit", hit_bodies), ("miss", miss_bodies)):
                for n in LEVELS:
                    runs = []
                    for rep in range(max(1, args.repeat)):  # this VM drifts: median of runs
                        cpu = c.cpu_seconds(server.pid)
                        r = c.wrk(url, filled.key, bodies, connections=n,  # misses stay unique
                                  seconds=args.seconds, prefix=f"{kind}{n}-{rep}-")
                        r["cpu_ms"] = ((c.cpu_seconds(server.pid) - cpu)
                                       / max(1, r["requests"]) * 1e3)
                        runs.append(r)
                    runs.sort(key=lambda x: x["per_s"])
                    r = runs[len(runs) // 2]
                    r["range"] = (runs[0]["per_s"], runs[-1]["per_s"])
                    results[kind][n] = r
                    print(f"{kind:4} c={n:<2} {r['per_s']:7.1f} req/s  hits {r['hits']:>6}/"
                          f"{r['requests']:<6} non-200 {r['non200']} socket errors "
                          f"{r['socket_errors']}  latency p50 {r['p50_us'] / 1e3:.1f} p95 "
                          f"{r['p95_us'] / 1e3:.1f} p99 {r['p99_us'] / 1e3:.1f} ms  server CPU "
                          f"{r['cpu_ms']:.2f} ms/request  (runs {r['range'][0]:.0f}–"
                          f"{r['range'][1]:.0f}/s)", flush=True)
            rss = server.rss_mb()
    finally:
        provider.stop()
    ceilings.append(c.ceiling(co.paraphrases))
    ceil = statistics.median(ceilings)
    print(f"encoder ceiling after: {ceilings[1]:.0f} prompts/s; using {ceil:.0f}")
    rows = []
    for kind in ("hit", "miss"):
        for n in LEVELS:
            r = results[kind][n]
            rate = r["hits_per_s"] if kind == "hit" else r["per_s"]
            rows.append(f"| {kind} | {n} | {rate:.0f} ({r['range'][0]:.0f}–{r['range'][1]:.0f}) "
                        f"| {rate / ceil:.0%} | "
                        f"{r['p50_us'] / 1e3:.1f} | {r['p95_us'] / 1e3:.1f} | "
                        f"{r['p99_us'] / 1e3:.1f} | {r['cpu_ms']:.2f} | {r['requests']} | "
                        f"{r['hits']} | {r['non200'] + r['socket_errors']} |")
    top = results["hit"][32]["hits_per_s"]
    verdict = (f"Target (hits/s at c=32 ≥ 400 and ≥ 70 % of the ceiling): {top:.0f} hits/s = "
               f"{top / ceil:.0%} of {ceil:.0f} prompts/s → "
               f"{'met' if top >= 400 and top >= 0.7 * ceil else 'NOT met'}"
               f"{'' if top >= 400 else ' (400/s is above what this box’s encoder can do)' if ceil < 400 else ''}.")
    print(verdict)
    if args.write:
        c.write_section(TITLE, f"""
{c.header("throughput.py")}

Setup: `vectorcache serve` (1 worker) on the 1k data dir of `bench/hitpath.py`, loaded by
`wrk -t1 -cC -d{args.seconds:g}s` on the same 2 cores; hits: the {len(hit_bodies)} real paraphrases it serves;
misses: unique prompts (embed, search, provider, store). Ceiling = the encoder alone on every core:
**{ceil:.0f} prompts/s** (median of {ceilings[0]:.0f} and {ceilings[1]:.0f}). Median of {args.repeat} runs per level; server RSS after: {rss[0]:.0f} MB.

| kind | concurrency | per s (hits for hit rows; range of the runs) | of ceiling | p50 ms | p95 ms | p99 ms | server CPU ms/request | requests | hits | errors |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Reading: {verdict}
A hit costs ~4 ms of server CPU (an embedding ~1.8 ms, the rest HTTP, auth, JSON, search and the
decision in Python), and wrk shares the two cores: that, not the encoder, caps the hit rate.
""")


if __name__ == "__main__":
    main()
