"""Time in one place: aware UTC datetimes and their ISO text."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["from_iso", "to_iso", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def from_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
