"""Failed authentications in the audit log, throttled so a flood cannot fill the disk.

Only a key's displayed prefix (``vc_1a2b3c4d…``) is ever written, never the presented value,
with the client address. Per minute, the first failure of each prefix and address is written at
once (at most ``max_prefixes`` distinct ones; the rest share one ``(other)`` row); repeats are
counted in memory and written as one ``auth.failure.repeated`` row each when the next minute's
first failure arrives (``throttled_audit.py``). A flood therefore costs at most
``2 * (max_prefixes + 1)`` rows a minute.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from vectorcache.security.throttled_audit import ThrottledAudit
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
        self._audit = ThrottledAudit(store, max_buckets=max_prefixes, clock=clock)

    async def record(self, presented: str | None, code: str, project_id: str | None = None,
                     client_ip: str | None = None) -> None:
        await self._audit.record("auth.failure", code, actor=safe_prefix(presented),
                                 project_id=project_id, client_ip=client_ip)
