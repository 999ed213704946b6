"""What monitoring adds to each request, measured in process as CPU time of the event loop's
thread (not over HTTP, where this shared box's noise is ~100x the effect): the request-log
middleware, its row and counters, and the step histograms, around a no-op ASGI app; and the
write-behind flush's cost per row (rollups and the SQLite transaction, off the request path).

    python -m bench.monitoring_overhead [--requests 20000] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import _common as c
from vectorcache.models import ApiKey, Project, UsageEvent
from vectorcache.monitoring.middleware import MonitorRequests
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    scope["state"]["principal"] = scope["principal"]
    events = scope["app"].state.runtime.events
    events.record(UsageEvent(project_id="p", kind="hit", key_id="k", latency_ms=0.3,
                             model="gpt-4o", exact=True, tokens=20, cost_saved_usd=0.001))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _timed(app: Any, rt: Runtime, n: int, principal: Any) -> float:
    holder = SimpleNamespace(state=SimpleNamespace(runtime=rt))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    start = time.thread_time()  # CPU time of this thread: what the box's load cannot inflate
    for _ in range(n):
        scope = {"type": "http", "path": "/v1/cache/query", "method": "POST", "app": holder,
                 "headers": [(b"user-agent", b"bench")], "client": ("127.0.0.1", 5000),
                 "state": {}, "principal": principal}
        await app(scope, receive, send)
        if rt.monitoring is not None:
            rt.monitoring.metrics.observe_steps({"exact_time_ms": 0.1})
    return (time.thread_time() - start) / n * 1e6


async def main(n: int, write: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        async with Runtime.open(settings, with_embedder=False) as rt:
            assert rt.monitoring is not None
            project = Project(id="p", name="bench", created_at=None)  # type: ignore[arg-type]
            key = ApiKey(id="k", project_id="p", name="k", prefix="vc_0000", key_hash="h",
                         created_at=None)  # type: ignore[arg-type]
            principal = SimpleNamespace(project=project, key=key)
            wrapped = MonitorRequests(_noop)
            base, mon = [], []
            for _ in range(5):  # interleaved; the minimum is the cost without the box's noise
                base.append(await _timed(_noop, rt, n, principal))
                rt.monitoring.requests._rows.clear()
                mon.append(await _timed(wrapped, rt, n, principal))
                pending = rt.monitoring.requests.pending
                t = time.process_time()
                await rt.monitoring.requests.flush()
                flush_us = (time.process_time() - t) / max(pending, 1) * 1e6
                rt.events._events.clear()
            added = statistics.median(mon) - statistics.median(base)
            lines = [
                c.header("monitoring_overhead.py"), "",
                "CPU time of the event loop's thread per request (`time.thread_time`, which "
                "the box's load does not inflate), 5 interleaved passes of "
                f"{n:,} requests through a no-op ASGI app that records one usage event, "
                "with and without `MonitorRequests` (request-log row, note, counters and "
                "histograms) plus the step histograms the cache service feeds; then the "
                "write-behind flush of the rows (rollups summed and written with the rows in "
                "one SQLite transaction, in the writer thread), per row. The hit-path budget "
                "is 200 us.", "",
                "| what | median us | min us |", "|---|---|---|",
                f"| no-op app | {statistics.median(base):.1f} | {min(base):.1f} |",
                f"| with request log + metrics | {statistics.median(mon):.1f} | "
                f"{min(mon):.1f} |",
                f"| **added on the request path** | **{added:.1f}** | "
                f"{min(mon) - min(base):.1f} |",
                f"| write-behind flush, per row (off the path) | {flush_us:.1f} | |"]
            text = "\n".join(lines)
            print(text)
            if write:
                c.write_section("bench/monitoring_overhead.py", text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.write))
