"""Which rollup rows make up a query's buckets, as few as the rollups allow.

A series' buckets are the grain's own (minute, hour, or UTC's days: one row per bucket, group
and outcome), or a time zone's days. A zone's day [x, y) is summed from rollups by the identity
``[x, y) = [r(x), r(y)) + [x, r(x)) - [y, r(y))``, with r the UTC midnight nearest each bound
(and an interval read backwards counted negatively): whole UTC day rows, plus and minus the
hour rows between each local midnight and its nearest UTC midnight. New York's day (UTC-5) is
then 1 day row and 10 hour rows instead of 24 hour rows; Berlin's (UTC+1) 1 and 2. Where that
is no fewer (offsets near 12 hours, or a bound inside an hour), the hour rows alone are summed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from vectorcache.monitoring.rollup import GRAINS

__all__ = ["Part", "Plan", "Span", "plan"]

HOUR, DAY = GRAINS["hour"], GRAINS["day"]


@dataclass(frozen=True)
class Span:
    """Rows whose ``bucket`` is in [lo, hi) add ``sign`` x their values to the series bucket
    starting at ``at`` (None: each row to its own bucket)."""

    lo: int
    hi: int
    at: int | None = None
    sign: int = 1


@dataclass(frozen=True)
class Part:
    """Rows of one grain: read per span, each an index range (a join with the spans' VALUES,
    so that no row between them is read)."""

    grain: str
    spans: tuple[Span, ...]

    @property
    def native(self) -> bool:
        return len(self.spans) == 1 and self.spans[0].at is None

    def rows(self) -> int:
        return sum((s.hi - s.lo) // GRAINS[self.grain] for s in self.spans)


@dataclass(frozen=True)
class Plan:
    parts: tuple[Part, ...]
    #: rows of this grain in [lo, hi) hold every group the parts read (counted from an index)
    span: tuple[str, int, int]


def _nearest_midnight(epoch: int) -> int:
    return (epoch + DAY // 2) // DAY * DAY


def plan(bucket: str, bounds: Sequence[int]) -> Plan:
    """The parts summing to the series whose buckets start at ``bounds[:-1]`` and end at
    ``bounds[-1]``."""
    xs = [int(b) for b in bounds]
    starts, end = xs[:-1], xs[-1]
    size = GRAINS[bucket]
    if all(b % size == 0 for b in starts) and all(
            b - a == size for a, b in itertools.pairwise(starts)):
        return Plan((Part(bucket, (Span(starts[0], end),)),), (bucket, starts[0], end))
    hours = Plan((Part("hour", tuple(Span(lo, hi, lo) for lo, hi in itertools.pairwise(xs))),),
                 ("hour", starts[0], end))
    if bucket != "day" or any(x % HOUR for x in xs):
        return hours
    rs = [_nearest_midnight(x) for x in xs]
    days = [Span(r, r_next, x) for x, r, r_next in zip(starts, rs, rs[1:], strict=False)
            if r < r_next]
    # the hours between each bound and its nearest midnight: +/- to the bucket after the
    # bound, -/+ to the one before it
    edges = []
    for k, (x, r) in enumerate(zip(xs, rs, strict=True)):
        if x == r:
            continue
        lo, hi, sign = min(x, r), max(x, r), 1 if x < r else -1
        if k < len(starts):
            edges.append(Span(lo, hi, starts[k], sign))
        if k > 0:
            edges.append(Span(lo, hi, starts[k - 1], -sign))
    composed = tuple(p for p in (Part("day", tuple(days)), Part("hour", tuple(edges)))
                     if p.spans)
    if sum(p.rows() for p in composed) >= hours.parts[0].rows():
        return hours
    return Plan(composed, ("hour", min(xs[0], rs[0]), max(xs[-1], rs[-1])))
