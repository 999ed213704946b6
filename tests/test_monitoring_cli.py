"""``vectorcache analytics``: the rollups' answer on the command line, on the data dir."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from vectorcache.monitoring.rows import RequestRow
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings


def _write_requests(project_name: str) -> None:
    async def main() -> None:
        async with Runtime.open(Settings(), with_embedder=False) as rt:
            assert rt.monitoring is not None
            project = await rt.admin.project(project_name)
            now = time.time()
            rows = [RequestRow(at=now, project_id=project.id, key_id="k1",
                               route="/v1/cache/query", method="POST", model="gpt-4o",
                               status=200, outcome=outcome, reason="", latency_ms=ms,
                               cost_saved_usd=0.5 if outcome.startswith("hit") else 0.0)
                    for outcome, ms in (("hit_exact", 1.0), ("hit_semantic", 6.0),
                                        ("miss", 300.0), ("hit_exact", 1.5))]
            await rt.monitoring.log_store.write(rows)

    asyncio.run(main())


def test_analytics_per_key_per_day(cli_run: Any) -> None:
    cli_run("projects", "create", "shop")
    _write_requests("shop")
    out = json.loads(cli_run("analytics", "--project", "shop", "--by", "key", "--json").output)
    totals = out["groups"][0]["totals"]
    assert out["groups"][0]["group"] == "k1" and totals["requests"] == 4
    assert totals["hit_rate"] == 0.75 and totals["cost_saved_usd"] == 1.5
    table = cli_run("analytics", "--project", "shop").output
    assert "HIT_RATE" in table and "0.75" in table
    bad = cli_run("analytics", "--project", "shop", "--start", "last tuesday", ok=False)
    assert bad.exit_code != 0 and "ISO date" in bad.output and "Traceback" not in bad.output
