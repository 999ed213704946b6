"""RSS of the ``vectorcache serve`` process at 1k (baseline), 100k (and 1M) entries, in steady
state: the data dir is filled (bench/_common.py ``fill``), then the server starts on it (as after
a restart: the index snapshot is loaded and reconciled with the records) and answers some hits.

    python -m bench.memory                  # 1k + 100k (~1 min once the fills are cached)
    python -m bench.memory --million        # adds 1M (first fill ~5 min, ~2 GB on disk)
    python -m bench.memory --write          # also update the "## bench/memory.py" section
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import httpx

from bench import _common as c

TITLE = "bench/memory.py"


def measure(n: int, co: c.Corpus) -> dict[str, Any]:
    filled = c.fill(n, co)
    provider = c.Provider(filled.provider_port)
    try:
        with c.Server(filled.data_dir) as server:
            after_start = server.rss_mb()[0]
            h = {"Authorization": f"Bearer {filled.key}"}
            with httpx.Client(base_url=server.base, headers=h, timeout=60) as http:
                for q in co.paraphrases[:100]:
                    http.post("/v1/cache/query", json=c.query_body(q)).raise_for_status()
            time.sleep(1)
            rss, hwm = server.rss_mb()
            start_s = server.start_s
    finally:
        provider.stop()
    disk = {p.name: p.stat().st_size / 2**20 for p in Path(filled.data_dir).iterdir()
            if p.name.startswith("vectorcache.db")}
    return {"entries": n, "rss": rss, "hwm": hwm, "after_start": after_start,
            "start_s": start_s, "db_mb": disk.get("vectorcache.db", 0.0),
            "index_mb": disk.get("vectorcache.db.index", 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,100k", help="entry counts; the first is the "
                        "baseline (default 1k,100k)")
    parser.add_argument("--million", action="store_true", help="add 1M entries")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    sizes = c.sizes_arg(args.sizes) + ([1_000_000] if args.million else [])
    co = c.corpus()
    results = []
    for n in sizes:
        r = measure(n, co)
        results.append(r)
        print(f"{c.human(n):>5} entries  RSS {r['rss']:.0f} MB (peak {r['hwm']:.0f}, right after "
              f"start {r['after_start']:.0f})  start {r['start_s']:.1f} s  db "
              f"{r['db_mb']:.0f} MB  index snapshot {r['index_mb']:.0f} MB", flush=True)
    base = results[0]
    rows = []
    for r in results:
        per = ((r["rss"] - base["rss"]) * 2**20 / (r["entries"] - base["entries"])
               if r["entries"] > base["entries"] else float("nan"))
        rows.append(f"| {c.human(r['entries'])} | {r['rss']:.0f} | {r['hwm']:.0f} | "
                    f"{r['rss'] - base['rss']:+.0f} | {per:.0f} | {r['start_s']:.1f} | "
                    f"{r['db_mb']:.0f} | {r['index_mb']:.0f} |")
    million = next((r for r in results if r["entries"] == 1_000_000), None)
    if million:
        verdict = (f"Target (≤ 1 GB RSS at 1M): {million['rss']:.0f} MB steady, peak "
                   f"{million['hwm']:.0f} MB → {'met' if million['rss'] <= 1024 else 'NOT met'}.")
    else:
        last = results[-1]
        per = (last["rss"] - base["rss"]) * 2**20 / max(1, last["entries"] - base["entries"])
        guess = base["rss"] + per * (1_000_000 - base["entries"]) / 2**20
        verdict = (f"1M not run (use --million); linear extrapolation from "
                   f"{c.human(last['entries'])}: ~{guess:.0f} MB (target ≤ 1 GB).")
    print(verdict)
    if args.write:
        c.write_section(TITLE, f"""
{c.header("memory.py")}

Setup: `vectorcache serve` started on data dirs of {", ".join(c.human(n) for n in sizes)} entries filled as in
`bench/hitpath.py`, after 100 hits. RSS = VmRSS, peak = VmHWM (start-up included); per entry =
(RSS − RSS at {c.human(base['entries'])}) / extra entries.

| entries | RSS MB | peak MB | vs {c.human(base['entries'])} MB | bytes/entry | start s | SQLite MB | index snapshot MB |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Reading: {verdict}
The vector index and the record pages the server touches grow with the entries; the SQLite file
does not stay in memory.
""")


if __name__ == "__main__":
    main()
