"""Time ranges as routes and the CLI take them: ISO dates or datetimes (UTC unless an offset is
given); by default from the first day of this month to the end of the current bucket."""

from __future__ import annotations

from datetime import UTC, datetime

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.rollup import GRAINS, floor_to

__all__ = ["parse_range"]


def _parse(value: str, param: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{param} must be an ISO date or datetime, e.g. 2026-12-01",
                               param=param) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_range(start: str | None, end: str | None, bucket: str,
                now: datetime) -> tuple[datetime, datetime]:
    if bucket not in GRAINS:
        raise ValidationFailed(f"bucket must be one of {', '.join(GRAINS)}", param="bucket")
    size = GRAINS[bucket]
    end_at = (_parse(end, "end") if end else
              datetime.fromtimestamp(floor_to(now.timestamp(), bucket) + size, UTC))
    start_at = (_parse(start, "start") if start else
                now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    return start_at, end_at
