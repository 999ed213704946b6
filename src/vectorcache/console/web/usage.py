"""What the overview and the Analytics page show: the entry count (``console/counts.py``)
and the monitoring rollups (``monitoring/analytics.py``: a bounded read per project and
range), never an aggregate over a project's entries or events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vectorcache.monitoring.analytics import UsageQuery
from vectorcache.runtime import Runtime

__all__ = ["RANGES", "charts_for", "overview_row"]

#: range name -> (length, bucket)
RANGES = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "hour"),
          "30d": (timedelta(days=30), "day")}


async def _usage(rt: Runtime, project_id: str, name: str) -> dict[str, Any] | None:
    if rt.monitoring is None:
        return None
    length, bucket = RANGES[name]
    end = rt.clock()
    found: dict[str, Any] = await rt.monitoring.analytics.usage(UsageQuery(
        project_id=project_id, start=end - length, end=end + timedelta(seconds=1),
        bucket=bucket))
    return found


async def overview_row(rt: Runtime, project_id: str) -> dict[str, Any]:
    """Entries; requests and hit rate today (UTC); tokens and dollars saved over 30 days."""
    row: dict[str, Any] = {"entries": await rt.console.counts.entries(project_id)}
    found = await _usage(rt, project_id, "30d")
    if found is not None and found["groups"]:
        series = found["groups"][0]["series"]
        row["today"] = series[-1] if series else None
        row["month"] = found["totals"]
    return row


async def charts_for(rt: Runtime, project_id: str, name: str
                     ) -> tuple[dict[str, Any], list[tuple[str, list[tuple[str, Any]], str]]]:
    """The range's totals and its series: (title, [(bucket label, value)], unit)."""
    found = await _usage(rt, project_id, name)
    if found is None:
        return {}, []
    series = found["groups"][0]["series"] if found["groups"] else []

    def line(pick: Any) -> list[tuple[str, Any]]:
        return [(p["bucket_start"][5:16].replace("T", " "), pick(p)) for p in series]

    totals: dict[str, Any] = found["totals"]
    return totals, [
        ("Requests", line(lambda p: p["requests"]), ""),
        ("Hit rate", line(lambda p: p["hit_rate"]), ""),
        ("Latency p95", line(lambda p: p["latency_ms"]["p95"]), " ms"),
        ("$ saved", line(lambda p: p["cost_saved_usd"]), ""),
    ]
