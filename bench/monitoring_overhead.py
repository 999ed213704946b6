"""What monitoring adds to each request, measured in process (not over HTTP, where this
shared box's noise is ~100x the effect): the request-log middleware, its row and counters, and
the step histograms, around a no-op ASGI app; and the write-behind flush's cost per row (rollups
and the SQLite transaction, off the request path).

    python -m bench.monitoring_overhead [--requests 20000]
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

    start = time.perf_counter()
    for _ in range(n):
        scope = {"type": "http", "path": "/v1/cache/query", "method": "POST", "app": holder,
                 "headers": [(b"user-agent", b"bench")], "client": ("127.0.0.1", 5000),
                 "state": {}, "principal": principal}
        await app(scope, receive, send)
        if rt.monitoring is not None:
            rt.monitoring.metrics.observe_steps({"exact_time_ms": 0.1})
    return (time.perf_counter() - start) / n * 1e6


async def main(n: int) -> None:
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
                rt.monitoring.requests._rows.clear()  # noqa: SLF001 - only the cost is wanted
                mon.append(await _timed(wrapped, rt, n, principal))
                pending = rt.monitoring.requests.pending
                t = time.perf_counter()
                await rt.monitoring.requests.flush()
                flush_us = (time.perf_counter() - t) / max(pending, 1) * 1e6
                rt.events._events.clear()  # noqa: SLF001
            print(f"no-op app: min {min(base):.1f} us/request (median "
                  f"{statistics.median(base):.1f})")
            print(f"with request log + metrics: min {min(mon):.1f} us/request (median "
                  f"{statistics.median(mon):.1f})")
            print(f"added on the request path: {min(mon) - min(base):.1f} us (min), "
                  f"{statistics.median(mon) - statistics.median(base):.1f} us (median)")
            print(f"write-behind flush (rollups + SQLite), off the path: {flush_us:.1f} us/row")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().requests))
