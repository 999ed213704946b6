"""Which rollup rows make up a query's buckets, as few as the rollups allow.

A series' buckets are the grain's own (minute, hour, or UTC's days: one row per bucket, group
and outcome), or a time zone's days. A zone's day [x, y) is summed from rollups by the identity
``[x, y) = [r(x), r(y)) + [x, r(x)) - [y, r(y))``, with r the UTC midnight nearest each bound
(and an interval read backwards counted negatively): whole UTC day rows, plus and minus the
hour rows between each local midnight and its nearest UTC midnight. New York's day (UTC-5) is
then 1 day row and 10 hour rows instead of 24 hour rows; Berlin's (UTC+1) 1 and 2. Where that
is no fewer (offsets near 12 hours, or a bound inside an hour), or the series is long (more
than ``MAX_ARMS`` ranges), the hour rows alone are summed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from vectorcache.monitoring.rollup import GRAINS

__all__ = ["MAX_ARMS", "Arm", "Plan", "plan"]

HOUR, DAY = GRAINS["hour"], GRAINS["day"]


#: at most this many index ranges in one query (each a SELECT of a UNION ALL, with its own
#: parameters); a longer series of a zone's days is summed from its hours instead
MAX_ARMS = 200


@dataclass(frozen=True)
class Arm:
    """Rows of ``grain`` whose ``bucket`` is in [lo, hi): one index range, each row added
    ``sign`` x to the series bucket ``at`` gives (SQL over ``bucket``)."""

    grain: str
    lo: int
    hi: int
    at: str = "bucket"
    sign: int = 1

    def rows(self) -> int:
        return (self.hi - self.lo) // GRAINS[self.grain]


@dataclass(frozen=True)
class Plan:
    arms: tuple[Arm, ...]
    #: rows of this grain in [lo, hi) hold every group the arms read, and maybe a few more
    #: (counted from an index: only when they fit the limit is the top-N query skipped)
    span: tuple[str, int, int]

    @property
    def native(self) -> bool:
        """One range of the series' own buckets: each row is its bucket, added as it is."""
        return len(self.arms) == 1 and self.arms[0].at == "bucket"


def _tree(keys: Sequence[int], values: Sequence[int]) -> str:
    """SQL: ``values[i]`` for the last ``keys[i] <= bucket`` (keys ascending; a search tree
    of ``CASE``, log2(len(keys)) comparisons a row)."""
    def node(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(values[lo])
        mid = (lo + hi) // 2
        return f"CASE WHEN bucket < {keys[mid]} THEN {node(lo, mid)} ELSE {node(mid, hi)} END"

    return node(0, len(keys))


def _nearest_midnight(epoch: int) -> int:
    return (epoch + DAY // 2) // DAY * DAY


def plan(bucket: str, bounds: Sequence[int]) -> Plan:
    """The arms summing to the series whose buckets start at ``bounds[:-1]`` and end at
    ``bounds[-1]``."""
    xs = [int(b) for b in bounds]
    starts, end = xs[:-1], xs[-1]
    size = GRAINS[bucket]
    if all(b % size == 0 for b in starts) and all(
            b - a == size for a, b in itertools.pairwise(starts)):
        return Plan((Arm(bucket, starts[0], end),), (bucket, starts[0], end))
    # the groups of a zone's days are counted from the UTC days around them (30 x fewer rows)
    days_around = ("day", starts[0] // DAY * DAY, -(-end // DAY) * DAY)
    hours = Plan((Arm("hour", starts[0], end, _tree(starts, starts)),), days_around)
    if bucket != "day" or any(x % HOUR for x in xs):
        return hours
    rs = [_nearest_midnight(x) for x in xs]
    arms: list[Arm] = []
    if rs[-1] > rs[0]:  # UTC day D to the last bucket i with r_i <= D
        firsts = dict(zip(rs[:-1], starts, strict=True))  # of equal r_i, the last i
        arms.append(Arm("day", rs[0], rs[-1], _tree(list(firsts), list(firsts.values()))))
    # the hours between each bound and its nearest midnight: +/- to the bucket after the
    # bound, -/+ to the one before it
    for k, (x, r) in enumerate(zip(xs, rs, strict=True)):
        if x == r:
            continue
        lo, hi, sign = min(x, r), max(x, r), 1 if x < r else -1
        if k < len(starts):
            arms.append(Arm("hour", lo, hi, str(starts[k]), sign))
        if k > 0:
            arms.append(Arm("hour", lo, hi, str(starts[k - 1]), -sign))
    if len(arms) > MAX_ARMS or sum(a.rows() for a in arms) >= hours.arms[0].rows():
        return hours
    return Plan(tuple(arms), days_around)
