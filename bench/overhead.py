"""Gateway overhead on a miss: the same chat completion through Vectorcache vs straight to the
same loopback provider, interleaved request by request; p50/p95 of each and their difference,
with the server's own breakdown (embedding is part of every miss, so it is shown apart).

Paths: ``direct`` = POST the provider's ``/v1/chat/completions``; ``query`` = Vectorcache's
``/v1/cache/query`` with a unique real prompt and ``similarity_threshold: 0.999`` (a miss:
embed, search, decide, provider call, store); ``chat`` = Vectorcache's ``/v1/chat/completions``
(the OpenAI-compatible gateway route), measured only if the running server has it.

    python -m bench.overhead                # 300 requests per path (~1-2 min)
    python -m bench.overhead -n 1000 --write
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from bench import _common as c

TITLE = "bench/overhead.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="requests per path (default 300)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    co = c.corpus()
    filled = c.fill(1000, co)
    data_dir = c.scratch_copy(filled, "overhead")
    prompts = co.stored[1000:]
    provider = c.Provider(filled.provider_port)
    times: dict[str, list[float]] = {"direct": [], "query": [], "query_nodebug": [], "chat": []}
    debug: dict[str, list[float]] = {k: [] for k in (
        "total_time_ms", "exact_time_ms", "embedding_time_ms", "search_time_ms",
        "decision_time_ms", "llm_time_ms", "store_time_ms")}
    try:
        with c.Server(data_dir) as server, \
                httpx.Client(timeout=60) as http:
            vc = {"Authorization": f"Bearer {filled.key}"}
            up = {"Authorization": f"Bearer {c.PROVIDER_KEY}"}
            probe = http.post(f"{server.base}/v1/chat/completions", headers=vc, json={
                "model": c.MODEL, "messages": [{"role": "user", "content": "probe 0"}]})
            has_chat = probe.status_code not in (404, 405)
            print(f"gateway /v1/chat/completions: "
                  f"{'present' if has_chat else 'absent'} ({probe.status_code})", flush=True)

            def one(path: str, i: int) -> None:
                text = f"{prompts[i % len(prompts)]} (#{path}-{i})"
                messages = [{"role": "user", "content": text}]
                t = time.perf_counter()
                if path == "direct":
                    r = http.post(f"{provider.base_url}/chat/completions", headers=up,
                                  json={"model": c.MODEL, "messages": messages})
                elif path == "chat":
                    r = http.post(f"{server.base}/v1/chat/completions", headers=vc,
                                  json={"model": c.MODEL, "messages": messages})
                else:
                    r = http.post(f"{server.base}/v1/cache/query", headers=vc, json=c.query_body(
                        text, debug=path == "query", similarity_threshold=0.999))
                ms = (time.perf_counter() - t) * 1e3
                r.raise_for_status()
                if i < 0:
                    return  # warm-up
                body: dict[str, Any] = r.json()
                if path.startswith("query"):
                    assert body["cache_hit"] is False, body
                if path == "query":
                    for k, values in debug.items():
                        values.append(float(body["debug"][k]))
                times[path].append(ms)

            paths = ["direct", "query", "query_nodebug"] + (["chat"] if has_chat else [])
            for i in range(-20, 0):
                for p in paths:
                    one(p, i - 1000)
            for i in range(args.n):
                for p in paths:  # interleaved: the same noise hits every path
                    one(p, i)
    finally:
        provider.stop()
    enc = c.encoder()
    single = []
    for t in prompts[:100]:
        s = time.perf_counter()
        enc.encode([t])
        single.append((time.perf_counter() - s) * 1e3)
    s = {k: c.summary(v) for k, v in times.items() if v}
    d = {k: c.summary(v) for k, v in debug.items()}
    enc_p50 = c.pct(single, 50)
    base = s["direct"]
    lines = []
    for k in ("query_nodebug", "query", "chat"):
        if k not in s:
            continue
        over50 = s[k]["p50"] - base["p50"]
        over95 = s[k]["p95"] - base["p95"]
        lines.append((k, over50, over95))
    for k, v in s.items():
        print(f"{k:14} {c.fmt(v)}")
    for k, v in d.items():
        print(f"  server {k:18} {c.fmt(v)}")
    print(f"encoder alone, one prompt, bench process: p50 {enc_p50:.2f} ms")
    emb = d["embedding_time_ms"]["p50"]
    for k, o50, o95 in lines:
        print(f"overhead {k}: p50 +{o50:.2f} ms, p95 +{o95:.2f} ms; without embedding "
              f"(p50 overhead - embedding p50): {o50 - emb:+.2f} ms")
    main_over = lines[0][1]
    verdict = (f"Target (≤ 2 ms p50 overhead): total p50 overhead {main_over:.2f} ms → "
               f"{'met' if main_over <= 2 else 'NOT met'}; of which embedding p50 {emb:.2f} ms "
               f"(a miss must embed its prompt to store it), the rest {main_over - emb:.2f} ms "
               f"→ {'met' if main_over - emb <= 2 else 'NOT met'} excluding embedding.")
    print(verdict)
    if args.write:
        rows = "\n".join(f"| {k} | {v['p50']:.2f} | {v['p95']:.2f} | {v['p99']:.2f} | "
                         f"{int(v['n'])} |" for k, v in s.items())
        drows = "\n".join(f"| {k} | {v['p50']:.2f} | {v['p95']:.2f} |" for k, v in d.items())
        orows = "\n".join(f"| {k} | +{o50:.2f} | +{o95:.2f} | {o50 - emb:+.2f} |"
                          for k, o50, o95 in lines)
        chat_note = ("`chat` = the gateway's `/v1/chat/completions`." if "chat" in s else
                     "The gateway route `/v1/chat/completions` was absent when this ran "
                     "(not measured).")
        c.write_section(TITLE, f"""
{c.header("overhead.py")}

Setup: one sequential client, the paths interleaved, {args.n} requests each after 20 warm-up rounds,
against the loopback FakeProvider (instant answers). `direct` = straight to it; `query` =
`/v1/cache/query`, every one a miss (unique prompt, `similarity_threshold: 0.999`, `include_debug`);
`query_nodebug` without `include_debug`. {chat_note}

| path | e2e p50 ms | p95 | p99 | n |
|---|---|---|---|---|
{rows}

Server-side breakdown of the `query` misses (`debug`):

| step | p50 ms | p95 ms |
|---|---|---|
{drows}

The encoder alone (one prompt, bench process, same run): p50 {enc_p50:.2f} ms.

| overhead vs direct | p50 ms | p95 ms | p50 minus embedding p50 |
|---|---|---|---|
{orows}

Reading: {verdict}
A miss pays the embedding (it must store the vector) and the store write on top of the provider call.
""")


if __name__ == "__main__":
    main()
