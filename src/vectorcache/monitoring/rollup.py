"""Rollups kept as requests arrive: counts, sums and a latency histogram per project x time
bucket (minute, hour, day) x key x model x outcome, and per end user (hour, day).

Each request is added to a few slices, so that every query reads only the rows it shows: key x
model, per key (model ``*``), per model (key ``*``), overall (both ``*``) and per end user
(key and model ``*``; hourly and daily only). A batch of request rows becomes a few rollup
deltas here, in memory; the store adds them to the stored rollups with one upsert each, so
replicas add up without coordinating.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vectorcache.monitoring.histogram import N_BUCKETS, bucket_of
from vectorcache.monitoring.rows import RequestRow

__all__ = ["ANY", "GRAINS", "USER_GRAINS", "RollupKey", "floor_to", "rollup", "slice_of"]

#: bucket name -> seconds
GRAINS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
#: the per-end-user slice is kept hourly and daily only (its rows can outnumber the others')
USER_GRAINS = ("hour", "day")
#: key_id and model of the per-end-user slice (which has no key or model dimension)
ANY = "*"

#: (project_id, grain, bucket, key_id, model, end_user, outcome, reason)
RollupKey = tuple[str, str, int, str, str, str, str, str]
#: requests, latency_ms_sum, provider_ms_sum, tokens_in, tokens_out, tokens_saved, cost_usd,
#: cost_saved_usd, then the histogram counts
SUMS = ("requests", "latency_ms_sum", "provider_ms_sum", "tokens_in", "tokens_out",
        "tokens_saved", "cost_usd", "cost_saved_usd")


def slice_of(key_id: str, model: str, end_user: str) -> str:
    """The slice a rollup row belongs to (its ``dims`` column, which the analytics index leads
    with): ``key_model``, ``key``, ``model``, ``all`` (overall) or ``user``."""
    if end_user:
        return "user"
    if key_id == ANY:
        return "all" if model == ANY else "model"
    return "key" if model == ANY else "key_model"


def floor_to(epoch: float, grain: str) -> int:
    size = GRAINS[grain]
    return int(epoch // size) * size


@dataclass
class _Acc:
    values: list[float]

    @classmethod
    def empty(cls) -> _Acc:
        return cls([0.0] * (len(SUMS) + N_BUCKETS))

    def add(self, row: RequestRow, hist: int) -> None:
        v = self.values
        v[0] += 1
        v[1] += row.latency_ms
        v[2] += row.provider_ms
        v[3] += row.tokens_in
        v[4] += row.tokens_out
        v[5] += row.tokens_saved
        v[6] += row.cost_usd
        v[7] += row.cost_saved_usd
        v[len(SUMS) + hist] += 1


def rollup(rows: Iterable[RequestRow]) -> dict[RollupKey, list[float]]:
    """The rollup deltas of ``rows``, by rollup key."""
    out: dict[RollupKey, _Acc] = {}
    for row in rows:
        if not row.project_id:  # refused before a project was known: the request log only
            continue
        hist = bucket_of(row.latency_ms)
        for grain in GRAINS:
            start = floor_to(row.at, grain)
            keys = [(row.project_id, grain, start, key, model, "", row.outcome, row.reason)
                    for key, model in ((row.key_id, row.model), (row.key_id, ANY),
                                       (ANY, row.model), (ANY, ANY))]
            if row.user_hash and grain in USER_GRAINS:
                keys.append((row.project_id, grain, start, ANY, ANY, row.user_hash,
                             row.outcome, row.reason))
            for key in keys:
                acc = out.get(key)
                if acc is None:
                    acc = out[key] = _Acc.empty()
                acc.add(row, hist)
    return {key: acc.values for key, acc in out.items()}
