"""Analytics over a month of 10 million requests: rollups filled directly (as the request log
would have kept them), then the 30-day queries timed through ``Analytics.usage`` on SQLite and
on a fresh PostgreSQL (pgserver, temp dir).

    python -m bench.analytics                      # both backends, 10M requests
    python -m bench.analytics --requests 1000000 --backend sqlite
    python -m bench.analytics --write              # also update the BENCHMARKS.md section

The number of rollup rows, which is what a query reads, hardly depends on the number of
requests (1M and 10M make 499k and 738k rows): it is the keys x models x outcomes x buckets
and the end users seen per hour and day.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench import _common as c
from bench import _pg
from vectorcache.monitoring.analytics import Analytics, UsageQuery
from vectorcache.monitoring.histogram import N_BUCKETS
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.monitoring.rollup import ANY, RollupKey
from vectorcache.store import open_store_for_url

TITLE = "bench/analytics.py"
DAYS, KEYS, MODELS, USERS, USERS_PER_HOUR = 30, 20, 5, 2000, 100
#: outcome, reason, share of requests, latency bucket range (fast hits, slow misses)
OUTCOMES = (("hit_exact", "", 0.25, (0, 2)), ("hit_semantic", "", 0.30, (2, 6)),
            ("miss", "", 0.38, (9, 13)), ("bypass", "pii", 0.04, (9, 12)),
            ("error", "upstream_error", 0.03, (6, 14)))
START = datetime(2026, 11, 1, tzinfo=UTC)


def _values(rng: random.Random, n: int, outcome: tuple[str, str, float, tuple[int, int]]
            ) -> list[float]:
    name, _, _, (lo, hi) = outcome
    hit = name.startswith("hit")
    hist = [0] * N_BUCKETS
    for _ in range(min(n, 8)):  # spread over a few buckets of the outcome's range
        hist[rng.randint(lo, hi)] += n // min(n, 8)
    hist[lo] += n - sum(hist)
    tokens = 120 * n
    return [n, 40.0 * n, 0.0 if hit else 350.0 * n, 0 if hit else tokens, 0 if hit else tokens,
            tokens if hit else 0, 0.0 if hit else 0.002 * n, 0.002 * n if hit else 0.0, *hist]


def _add(into: dict[RollupKey, list[float]], key: RollupKey, values: list[float]) -> None:
    have = into.get(key)
    if have is None:
        into[key] = list(values)
    else:
        for i, v in enumerate(values):
            have[i] += v


def month(requests: int, seed: int = 7) -> Iterator[dict[RollupKey, list[float]]]:
    """A day of rollups at a time: hour and day rows per key x model x outcome, the per-user
    slice, and minute rows for the last day (minute rollups are kept 48 hours)."""
    rng = random.Random(seed)
    per_hour = requests / (DAYS * 24)
    combos = [(k, m, o) for k in range(KEYS) for m in range(MODELS) for o in OUTCOMES]
    weights = [o[2] * (1.0 + (k % 5)) / (3.0 * KEYS * MODELS) for k, _, o in combos]
    scale = 1.0 / sum(weights)
    for day in range(DAYS):
        out: dict[RollupKey, list[float]] = {}
        day_start = int((START + timedelta(days=day)).timestamp())
        for hour in range(24):
            h_start = day_start + hour * 3600
            for (k, m, o), w in zip(combos, weights, strict=True):
                n = int(per_hour * w * scale * rng.uniform(0.7, 1.3))
                if not n:
                    continue
                values = _values(rng, n, o)
                slices = ((f"key-{k}", f"model-{m}"), (f"key-{k}", ANY), (ANY, f"model-{m}"),
                          (ANY, ANY))  # as monitoring/rollup.py keeps them
                for key, model in slices:
                    for grain, bucket in (("hour", h_start), ("day", day_start)):
                        _add(out, ("p", grain, bucket, key, model, "", o[0], o[1]), values)
                    if day == DAYS - 1:  # the last day by minute (kept 48 hours)
                        for minute in range(0, 60, 6):
                            _add(out, ("p", "minute", h_start + minute * 60, key, model, "",
                                       o[0], o[1]), _values(rng, max(1, n // 10), o))
            for u in rng.sample(range(USERS), USERS_PER_HOUR):
                o = OUTCOMES[u % 3]
                values = _values(rng, rng.randint(1, 20), o)
                for grain, bucket in (("hour", h_start), ("day", day_start)):
                    _add(out, ("p", grain, bucket, ANY, ANY, f"user-{u}", o[0], o[1]), values)
        yield out


#: label, bucket, group, time zone: UTC's days are day rows; New York's day rows +/- hours
QUERIES: tuple[tuple[str, str, str, str], ...] = (
    ("30 days by day, per key", "day", "key", "UTC"),
    ("30 days by day, overall", "day", "none", "UTC"),
    ("30 days by hour, overall", "hour", "none", "UTC"),
    ("30 days by day, per model", "day", "model", "UTC"),
    ("30 days by day, per end user", "day", "user", "UTC"),
    ("30 days by day, per key, New York days", "day", "key", "America/New_York"),
    ("30 days by day, per end user, New York days", "day", "user", "America/New_York"))


async def run_backend(url: str, requests: int, repeats: int) -> dict[str, Any]:
    loads = [os.getloadavg()[0]]
    store = open_store_for_url(url, Fernet.generate_key(), 384, searchable=False)
    await store.open()
    try:
        logs = RequestLogStore(store.db)
        t, rows, total = time.perf_counter(), 0, 0
        for day in month(requests):
            rows += len(day)
            total += int(sum(v[0] for k, v in day.items()
                             if k[1] == "day" and k[3] == ANY and k[4] == ANY and k[5] == ""))
            await logs.add_rollups(day)
        fill_s = time.perf_counter() - t
        if url.startswith("postgres"):
            await store.db.write(lambda conn: conn.execute("ANALYZE request_rollups"))
        analytics = Analytics(logs)
        timings: dict[str, list[float]] = {}
        check = 0
        for label, bucket, group, tz in QUERIES:
            q = UsageQuery("p", START, START + timedelta(days=DAYS), bucket=bucket,
                           group_by=group, tz=tz)
            for _ in range(repeats):
                t = time.perf_counter()
                answer = await analytics.usage(q)
                timings.setdefault(label, []).append(time.perf_counter() - t)
            if group == "none" and bucket == "day" and tz == "UTC":
                check = answer["totals"]["requests"]
            loads.append(os.getloadavg()[0])
        return {"rows": rows, "requests": total, "fill_s": fill_s, "timings": timings,
                "answered": check, "loads": loads}
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--backend", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    backends = args.backend.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = asyncio.run(run_backend(
                f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests, args.repeats))
            print(_rows("SQLite", results["SQLite"]), flush=True)
    if "postgres" in backends:
        with _pg.postgres() as new_database:
            results["PostgreSQL"] = asyncio.run(run_backend(new_database(), args.requests,
                                                            args.repeats))
            print(_rows("PostgreSQL", results["PostgreSQL"]), flush=True)
    lines = [
        c.header("analytics.py"), "",
        "Rollups of a month of requests (20 keys x 5 models x 5 outcomes, 2,000 end users, "
        "the last day also by minute) inserted directly with the request log's own upsert, "
        "then `Analytics.usage` (the `GET /v1/analytics/usage` code path: SQL sum over the "
        "rollups of one slice, read by the `request_rollups_slice` index (project, grain, "
        "slice, bucket), then percentiles from the summed histograms in Python) "
        f"timed {args.repeats} times per query; median and worst shown. Days in UTC read the "
        "day rollups; New York's days (`monitoring/rollup_plan.py`) are each UTC day's row "
        "less its first 5 hours plus the next day's first 5 (1 + 10 rows a day instead of "
        "24), summed in SQL. Target: < 1 s.", "",
        "| backend | requests in the month | rollup rows | fill s | query | median ms "
        "| worst ms |", "|---|---|---|---|---|---|---|"]
    lines += [_rows(name, r) for name, r in results.items()]
    lines += ["", *(f"{name}: load average (1 min) from {r['loads'][0]:.1f} at the start to "
                    f"{r['loads'][-1]:.1f} at the end, {min(r['loads']):.1f}–"
                    f"{max(r['loads']):.1f} between queries, on {os.cpu_count()} cores."
                    for name, r in results.items())]
    text = "\n".join(lines)
    print(text)
    if args.write:
        one = "" if len(backends) > 1 else f" --backend {backends[0]}"
        c.write_section(TITLE + one, text)


def _rows(name: str, r: dict[str, Any]) -> str:
    return "\n".join(
        f"| {name} | {r['requests']:,} (read back {r['answered']:,}) | {r['rows']:,} | "
        f"{r['fill_s']:.0f} | {label} | {statistics.median(times) * 1000:.0f} | "
        f"{max(times) * 1000:.0f} |" for label, times in r["timings"].items())


if __name__ == "__main__":
    main()
