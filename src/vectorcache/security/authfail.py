"""Failed authentications in the audit log, throttled so a flood cannot fill the disk.

Only a key's displayed prefix (``vc_1a2b3c4d…``) is ever written, never the presented value.
Per minute, the first failure of each prefix is written at once (at most ``max_prefixes``
distinct prefixes; the rest share one ``(other)`` row); repeats are counted in memory and
written as one ``auth.failure.repeated`` row per prefix when the next minute's first failure
arrives. A flood therefore costs at most ``2 * (max_prefixes + 1)`` rows a minute.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from vectorcache.store import Store

__all__ = ["FailedAuthAudit", "safe_prefix"]

_PREFIX = re.compile(r"vc_[0-9a-f]{8}")


def safe_prefix(presented: str | None) -> str:
    """What may be recorded of a presented key: its display prefix, or a placeholder."""
    if not presented:
        return "(none)"
    match = _PREFIX.match(presented)
    return match.group() + "…" if match else "(malformed)"


class FailedAuthAudit:
    def __init__(self, store: Store, *, max_prefixes: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._max = max_prefixes
        self._clock = clock
        self._minute = -1
        self._counts: dict[tuple[str, str | None], int] = {}

    async def record(self, presented: str | None, code: str,
                     project_id: str | None = None) -> None:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            await self._roll(minute)
        bucket = (safe_prefix(presented), project_id)
        if bucket not in self._counts and len(self._counts) >= self._max:
            bucket = ("(other)", None)
        seen = self._counts.get(bucket, 0)
        self._counts[bucket] = seen + 1
        if not seen:
            await self._store.add_audit("auth.failure", project_id=bucket[1], actor=bucket[0],
                                        target=None, details={"code": code})

    async def _roll(self, minute: int) -> None:
        previous, counts = self._minute, self._counts
        self._minute, self._counts = minute, {}
        for (prefix, project_id), n in counts.items():
            if n > 1:
                await self._store.add_audit(
                    "auth.failure.repeated", project_id=project_id, actor=prefix, target=None,
                    details={"count": n - 1, "minute_start": previous * 60})
