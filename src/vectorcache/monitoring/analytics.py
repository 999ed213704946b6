"""Analytics from the rollups: per time bucket, overall or per key, model or end user —
requests, hit rate (exact vs semantic), misses, bypasses, errors by class, tokens and dollars
saved, and latency percentiles estimated from the rollups' fixed histogram buckets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.histogram import N_BUCKETS, quantile
from vectorcache.monitoring.log_store import GROUPS, RequestLogStore
from vectorcache.monitoring.rollup import GRAINS, SUMS, floor_to

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

    def check(self) -> None:
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


@dataclass
class Summary:
    requests: int = 0
    hits_exact: int = 0
    hits_semantic: int = 0
    misses: int = 0
    bypasses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    other: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(SUMS))
    hist: list[int] = field(default_factory=lambda: [0] * N_BUCKETS)

    def add(self, outcome: str, reason: str, values: tuple[Any, ...]) -> None:
        n = int(values[0] or 0)
        self.requests += n
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
        for i in range(1, len(SUMS)):
            self.sums[i] += float(values[i] or 0)
        for i in range(N_BUCKETS):
            self.hist[i] += int(values[len(SUMS) + i] or 0)

    def merge(self, other: Summary) -> None:
        self.requests += other.requests
        self.hits_exact += other.hits_exact
        self.hits_semantic += other.hits_semantic
        self.misses += other.misses
        self.other += other.other
        for mine, theirs in ((self.bypasses, other.bypasses), (self.errors, other.errors)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]

    def as_dict(self) -> dict[str, Any]:
        hits = self.hits_exact + self.hits_semantic
        lookups = hits + self.misses
        s = dict(zip(SUMS, self.sums, strict=True))

        def rate(n: int) -> float | None:
            return None if lookups == 0 else round(n / lookups, 4)

        return {
            "requests": self.requests, "hits": hits, "hits_exact": self.hits_exact,
            "hits_semantic": self.hits_semantic, "misses": self.misses,
            "hit_rate": rate(hits), "exact_hit_rate": rate(self.hits_exact),
            "semantic_hit_rate": rate(self.hits_semantic),
            "bypasses": sum(self.bypasses.values()), "bypasses_by_reason": self.bypasses,
            "errors": sum(self.errors.values()), "errors_by_class": self.errors,
            "tokens_in": int(s["tokens_in"]), "tokens_out": int(s["tokens_out"]),
            "tokens_saved": int(s["tokens_saved"]), "cost_usd": round(s["cost_usd"], 6),
            "cost_saved_usd": round(s["cost_saved_usd"], 6),
            "latency_ms": {
                "avg": None if not self.requests else round(s["latency_ms_sum"]
                                                            / self.requests, 3),
                "p50": quantile(self.hist, 0.50), "p95": quantile(self.hist, 0.95),
                "p99": quantile(self.hist, 0.99)},
            "provider_ms_avg": None if not self.misses else round(s["provider_ms_sum"]
                                                                  / self.misses, 3),
        }


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class Analytics:
    def __init__(self, store: RequestLogStore) -> None:
        self._store = store

    async def usage(self, q: UsageQuery) -> dict[str, Any]:
        q.check()
        start = floor_to(q.start.timestamp(), q.bucket)
        end = int(q.end.timestamp())
        filters = {k: v for k, v in (("key_id", q.key_id), ("model", q.model)) if v}
        rows = await self._store.rollups(q.project_id, q.bucket, start, end, q.group_by,
                                         filters, limit=q.limit)
        by_group: dict[str, dict[int, Summary]] = {}
        for bucket, group, outcome, reason, *values in rows:
            series = by_group.setdefault(str(group), {})
            series.setdefault(int(bucket), Summary()).add(str(outcome), str(reason),
                                                          tuple(values))
        if not by_group and q.group_by == "none":
            by_group[""] = {}
        size = GRAINS[q.bucket]
        total = Summary()
        groups = []
        busiest = sorted(by_group.items(), key=lambda item: (
            -sum(s.requests for s in item[1].values()), item[0]))
        for group, series in busiest[:q.limit]:
            group_total = Summary()
            points = []
            for bucket in range(start, end, size):
                summary = series.get(bucket, Summary())
                group_total.merge(summary)
                points.append({"bucket_start": _iso(bucket), **summary.as_dict()})
            groups.append({"group": None if q.group_by == "none" else group,
                           "totals": group_total.as_dict(), "series": points})
            total.merge(group_total)
        return {"project_id": q.project_id, "start": _iso(start), "end": _iso(end),
                "bucket": q.bucket, "group_by": q.group_by, "groups": groups,
                # the groups shown (the busiest ``limit``)
                "totals": total.as_dict()}
