"""Step timings, as ``include_debug`` and the metrics report them: milliseconds, to the
microsecond, since a ``time.perf_counter()`` reading."""

from __future__ import annotations

import time

__all__ = ["elapsed_ms"]


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
