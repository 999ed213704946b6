"""Fixed latency buckets, so percentiles can be estimated from summed rollups."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = ["BOUNDS_MS", "bucket_of", "quantile", "quantiles"]

#: upper bounds (ms) of the latency buckets; the last bucket is everything slower
BOUNDS_MS: tuple[float, ...] = (1, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 500, 1000, 2500,
                                5000, 10000)
N_BUCKETS = len(BOUNDS_MS) + 1


def bucket_of(latency_ms: float) -> int:
    """The bucket index of ``latency_ms`` (``le`` semantics, as Prometheus)."""
    return bisect_left(BOUNDS_MS, latency_ms)


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) estimated from bucket counts, interpolating linearly inside
    the bucket it falls in (as Prometheus' ``histogram_quantile``); None when empty. In the
    open last bucket the estimate is its lower bound."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            if i >= len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            lower = 0.0 if i == 0 else float(BOUNDS_MS[i - 1])
            upper = float(BOUNDS_MS[i])
            return round(lower + (upper - lower) * (rank - seen) / n, 3)
        seen += n
    return float(BOUNDS_MS[-1])


def quantiles(counts: Sequence[float], qs: Sequence[float]) -> list[float | None]:
    """``quantile`` of each of ``qs`` (ascending), in one pass over the counts."""
    total = sum(counts)
    if total == 0:
        return [None] * len(qs)
    out: list[float | None] = []
    seen = 0.0
    i = 0
    for q in qs:
        rank = q * total
        while i < len(counts) and not (counts[i] and seen + counts[i] >= rank):
            seen += counts[i]
            i += 1
        if i >= len(BOUNDS_MS):
            out.append(float(BOUNDS_MS[-1]))
            continue
        lower = 0.0 if i == 0 else float(BOUNDS_MS[i - 1])
        upper = float(BOUNDS_MS[i])
        out.append(round(lower + (upper - lower) * (rank - seen) / counts[i], 3))
    return out
