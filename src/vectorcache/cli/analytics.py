"""``vectorcache analytics``: hit rate, savings, errors and latency per bucket, from the
rollups (the same answer as ``GET /v1/analytics/usage``)."""

from __future__ import annotations

from typing import Any

import click

from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.errors import ServiceUnavailable
from vectorcache.monitoring.analytics import UsageQuery
from vectorcache.monitoring.rollup import GRAINS
from vectorcache.monitoring.timerange import parse_range, zone_of
from vectorcache.runtime import Runtime

__all__ = ["analytics"]


@click.command("analytics")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--start", default=None, help="ISO date or datetime (default: this month's 1st).")
@click.option("--end", default=None, help="ISO date or datetime (default: now).")
@click.option("--bucket", type=click.Choice(list(GRAINS)), default="day", show_default=True)
@click.option("--by", "group_by", type=click.Choice(["none", "key", "model", "user"]),
              default="none", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="Groups shown, the busiest first.")
@click.option("--tz", default=None,
              help="IANA time zone of the days and of dates without an offset (default: the "
                   "project's, its working hours' time zone).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
def analytics(project_ref: str, start: str | None, end: str | None, bucket: str,
              group_by: str, limit: int, tz: str | None, as_json: bool) -> None:
    """Requests, hit rate (exact and semantic), errors, tokens and dollars saved, latency
    p50/p95/p99, per time bucket, overall or per key, model or end user.

    \b
    Examples:
      vectorcache analytics --project shop --by key            # per day this month, per key
      vectorcache analytics --project shop --bucket hour --start 2026-12-01T00:00
      vectorcache analytics --project shop --by key --tz America/New_York
    """

    async def action(rt: Runtime) -> dict[str, Any]:
        if rt.monitoring is None:
            raise ServiceUnavailable()
        project = await rt.admin.project(project_ref)
        zone = zone_of(tz or await rt.monitoring.alerts.time_zone(project.id))
        start_at, end_at = parse_range(start, end, bucket, rt.monitoring.clock(), zone)
        return await rt.monitoring.analytics.usage(UsageQuery(
            project_id=project.id, start=start_at, end=end_at, bucket=bucket,
            group_by=group_by, limit=limit, tz=zone.key))

    answer = run_with_runtime(action)
    if as_json:
        print_json(answer)
        return
    rows = []
    for group in answer["groups"]:
        for point in group["series"]:
            if not point["requests"]:
                continue
            latency = point["latency_ms"]
            rows.append({"bucket": point["bucket_start"], "group": group["group"] or "-",
                         "requests": point["requests"], "hit_rate": point["hit_rate"],
                         "exact": point["hits_exact"], "semantic": point["hits_semantic"],
                         "misses": point["misses"], "errors": point["errors"],
                         "saved_usd": point["cost_saved_usd"],
                         "p50_ms": latency["p50"], "p95_ms": latency["p95"],
                         "p99_ms": latency["p99"]})
    print_table(rows, ["bucket", "group", "requests", "hit_rate", "exact", "semantic",
                       "misses", "errors", "saved_usd", "p50_ms", "p95_ms", "p99_ms"])
