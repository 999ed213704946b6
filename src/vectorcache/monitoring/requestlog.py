"""The request log's writer: one row per request, kept in memory on the request path and
written in batches by the service's write-behind loop (``service/events.py``).

The HTTP middleware (``monitoring/middleware.py``) opens a ``RequestNote`` for each request;
the cache service's usage event for that request (outcome, tokens, cost) is attached to it as
it is recorded (the ``EventWriter`` observer below, through a context variable, so that the
service knows nothing of HTTP), and the middleware completes the row when the response is
sent.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass

from vectorcache.models import UsageEvent
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.monitoring.rows import RequestRow

__all__ = ["RequestLog", "RequestNote", "outcome_of"]

log = logging.getLogger("vectorcache.monitoring")

#: the note of the request being served in this context (a declaration: holds no state)
_NOTE: ContextVar[RequestNote | None] = ContextVar("vectorcache_request_note", default=None)


@dataclass(slots=True)
class RequestNote:
    """What the service adds to a request's row while serving it."""

    event: UsageEvent | None = None


def outcome_of(event: UsageEvent | None) -> tuple[str, str]:
    """(outcome, reason) of the service's usage event for a request."""
    if event is None:
        return "other", ""
    if event.kind == "hit":
        return ("hit_exact" if event.exact else "hit_semantic"), ""
    if event.kind == "bypass":
        return "bypass", event.reason or ""
    if event.kind in ("miss", "error"):
        return event.kind, event.reason or ""
    return "other", event.kind  # "store": an answer the client stored


class RequestLog:
    """Buffers rows; ``flush`` writes them (with their rollups) in one transaction."""

    def __init__(self, store: RequestLogStore, max_buffer: int = 50_000) -> None:
        self._store = store
        self._rows: list[RequestRow] = []
        self._max = max_buffer
        self.dropped = 0

    # the request path: appends only
    def open_note(self) -> tuple[RequestNote, object]:
        note = RequestNote()
        return note, _NOTE.set(note)

    def close_note(self, token: object) -> None:
        _NOTE.reset(token)  # type: ignore[arg-type]

    def observe(self, event: UsageEvent) -> None:
        """``EventWriter`` observer: attach the event to the request being served."""
        note = _NOTE.get()
        if note is not None and (note.event is None or event.kind != "store"):
            note.event = event

    def add(self, row: RequestRow) -> None:
        if len(self._rows) >= self._max:  # the database is down: count what is lost
            self.dropped += 1
            return
        self._rows.append(row)

    @property
    def pending(self) -> int:
        return len(self._rows)

    # behind it
    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            await self._store.write(rows)
        except Exception:
            self.dropped += len(rows)
            log.exception("dropped %d request-log rows", len(rows))
