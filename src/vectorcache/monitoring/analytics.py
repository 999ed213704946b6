"""Analytics from the rollups: per time bucket, overall or per key, model or end user —
requests, hit rate (exact vs semantic), misses, bypasses, errors by class, tokens and dollars
saved, and latency percentiles estimated from the rollups' fixed histogram buckets.

Days are the query's time zone's (``timerange``). In a zone whose days are UTC's a day is one
day rollup row per group and outcome; elsewhere ``rollup_plan`` sums it from day rows and the
hour rows at its edges, or from its hour rows, in SQL either way.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.histogram import N_BUCKETS, quantiles
from vectorcache.monitoring.log_store import GROUPS, RequestLogStore
from vectorcache.monitoring.rollup import GRAINS, SUMS
from vectorcache.monitoring.timerange import bucket_bounds, zone_of

__all__ = ["MAX_BUCKETS", "Analytics", "Summary", "UsageQuery"]

#: buckets in one answer, per group (a month by hour is 744; by minute, ask for a day)
MAX_BUCKETS = 2000


@dataclass(frozen=True)
class UsageQuery:
    project_id: str
    start: datetime
    end: datetime
    bucket: str = "day"  # minute | hour | day
    group_by: str = "none"  # none | key | model | user
    key_id: str | None = None
    model: str | None = None
    limit: int = 100  # groups, the busiest first
    tz: str = "UTC"  # IANA name: the days of ``bucket="day"`` are this zone's

    def check(self) -> ZoneInfo:
        zone = zone_of(self.tz)
        if self.bucket not in GRAINS:
            raise ValidationFailed(f"bucket must be one of {', '.join(GRAINS)}", param="bucket")
        if self.group_by not in GROUPS:
            raise ValidationFailed(f"group_by must be one of {', '.join(GROUPS)}",
                                   param="group_by")
        if not 1 <= self.limit <= 1000:
            raise ValidationFailed("limit must be between 1 and 1000", param="limit")
        if self.end <= self.start:
            raise ValidationFailed("end must be after start", param="end")
        buckets = (self.end.timestamp() - self.start.timestamp()) / GRAINS[self.bucket]
        if buckets > MAX_BUCKETS:
            raise ValidationFailed(
                f"{int(buckets)} {self.bucket} buckets asked for; at most {MAX_BUCKETS}: "
                "a shorter range or a larger bucket", param="bucket")
        return zone


_K = len(SUMS)
_EMPTY = (0.0,) * (_K + N_BUCKETS)


@dataclass
class Summary:
    """Summed rollup rows: counts by outcome, and ``values``: the rollups' SUMS then their
    histogram counts, added element-wise (``map``: these sums are the per-row cost). A row
    may be negative: a zone's day is day rows less some hours plus others (``rollup_plan``)."""

    hits_exact: int = 0
    hits_semantic: int = 0
    misses: int = 0
    bypasses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    other: int = 0
    values: list[float] = field(default_factory=lambda: list(_EMPTY))

    @property
    def requests(self) -> int:
        return int(self.values[0])

    def add(self, outcome: str, reason: str, values: Sequence[float]) -> None:
        """One summed rollup row of one outcome (and reason): its SUMS then its histogram."""
        n = int(values[0])
        if outcome == "hit_exact":
            self.hits_exact += n
        elif outcome == "hit_semantic":
            self.hits_semantic += n
        elif outcome == "miss":
            self.misses += n
        elif outcome == "bypass":
            self.bypasses[reason or "unspecified"] = self.bypasses.get(reason or "unspecified",
                                                                       0) + n
        elif outcome == "error":
            self.errors[reason or "unknown"] = self.errors.get(reason or "unknown", 0) + n
        else:
            self.other += n
        self.values = list(map(operator.add, self.values, values))

    def merge(self, other: Summary) -> None:
        self.hits_exact += other.hits_exact
        self.hits_semantic += other.hits_semantic
        self.misses += other.misses
        self.other += other.other
        for mine, theirs in ((self.bypasses, other.bypasses), (self.errors, other.errors)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        self.values = list(map(operator.add, self.values, other.values))

    def as_dict(self) -> dict[str, Any]:
        hits = self.hits_exact + self.hits_semantic
        lookups = hits + self.misses
        s = dict(zip(SUMS, self.values, strict=False))
        requests = self.requests
        p50, p95, p99 = quantiles(self.values[_K:], (0.50, 0.95, 0.99))

        def rate(n: int) -> float | None:
            return None if lookups == 0 else round(n / lookups, 4)

        return {
            "requests": requests, "hits": hits, "hits_exact": self.hits_exact,
            "hits_semantic": self.hits_semantic, "misses": self.misses,
            "hit_rate": rate(hits), "exact_hit_rate": rate(self.hits_exact),
            "semantic_hit_rate": rate(self.hits_semantic),
            "bypasses": sum(self.bypasses.values()),
            "bypasses_by_reason": {k: v for k, v in self.bypasses.items() if v},
            "errors": sum(self.errors.values()),
            "errors_by_class": {k: v for k, v in self.errors.items() if v},
            "tokens_in": int(s["tokens_in"]), "tokens_out": int(s["tokens_out"]),
            # + 0.0: a sum of rows added and subtracted (rollup_plan) is never "-0.0"
            "tokens_saved": int(s["tokens_saved"]), "cost_usd": round(s["cost_usd"], 6) + 0.0,
            "cost_saved_usd": round(s["cost_saved_usd"], 6) + 0.0,
            "latency_ms": {
                "avg": None if not requests else round(s["latency_ms_sum"] / requests, 3),
                "p50": p50, "p95": p95, "p99": p99},
            "provider_ms_avg": None if not self.misses else round(s["provider_ms_sum"]
                                                                  / self.misses, 3),
        }


def _iso(epoch: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, zone).isoformat()


class Analytics:
    def __init__(self, store: RequestLogStore) -> None:
        self._store = store

    async def usage(self, q: UsageQuery) -> dict[str, Any]:
        zone = q.check()
        bounds = bucket_bounds(q.start, q.end, q.bucket, zone)
        starts, end = bounds[:-1], bounds[-1]
        filters = {k: v for k, v in (("key_id", q.key_id), ("model", q.model)) if v}
        rows = await self._store.rollups(q.project_id, q.bucket, bounds, q.group_by,
                                         filters, limit=q.limit)
        by_group: dict[str, dict[int, Summary]] = {}
        for bucket, group, outcome, reason, *values in rows:
            series = by_group.setdefault(str(group), {})
            series.setdefault(int(bucket), Summary()).add(str(outcome), str(reason), values)
        if not by_group and q.group_by == "none":
            by_group[""] = {}
        total = Summary()
        groups = []
        busiest = sorted(by_group.items(), key=lambda item: (
            -sum(s.requests for s in item[1].values()), item[0]))
        labels = [_iso(bucket, zone) for bucket in starts]
        empty = Summary().as_dict()
        for group, series in busiest[:q.limit]:
            group_total = Summary()
            points = []
            for bucket, label in zip(starts, labels, strict=True):
                summary = series.get(bucket)
                if summary is None:
                    points.append({"bucket_start": label, **_copy(empty)})
                    continue
                group_total.merge(summary)
                points.append({"bucket_start": label, **summary.as_dict()})
            groups.append({"group": None if q.group_by == "none" else group,
                           "totals": group_total.as_dict(), "series": points})
            total.merge(group_total)
        return {"project_id": q.project_id, "start": labels[0], "end": _iso(end, zone),
                "bucket": q.bucket, "tz": zone.key, "group_by": q.group_by, "groups": groups,
                # the groups shown (the busiest ``limit``)
                "totals": total.as_dict()}


def _copy(point: dict[str, Any]) -> dict[str, Any]:
    """An empty bucket's figures, fresh (its nested dicts are not shared between points)."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in point.items()}
