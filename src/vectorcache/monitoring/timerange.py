"""Time ranges as routes and the CLI take them: ISO dates or datetimes (in the query's time
zone unless an offset is given); by default from the first day of this month to the end of the
current bucket. Day buckets are that zone's days; minute and hour buckets are UTC's (the same
hours in every whole-hour zone)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.rollup import GRAINS, floor_to

__all__ = ["bucket_bounds", "parse_range", "zone_of"]

HOUR = 3600


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` ("Europe/Berlin", "UTC"), or a 400 naming the parameter."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed(f"tz must be an IANA time zone name, e.g. Europe/Berlin or UTC;"
                               f" {name[:64]!r} is not one", param="tz") from None


def _parse(value: str, param: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{param} must be an ISO date or datetime, e.g. 2026-12-01",
                               param=param) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _midnight(day: datetime, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def parse_range(start: str | None, end: str | None, bucket: str, now: datetime,
                zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    if bucket not in GRAINS:
        raise ValidationFailed(f"bucket must be one of {', '.join(GRAINS)}", param="bucket")
    zone = zone or ZoneInfo("UTC")
    local_now = now.astimezone(zone)
    if end:
        end_at = _parse(end, "end", zone)
    elif bucket == "day":  # the next local midnight
        end_at = _midnight(local_now + timedelta(days=1), zone)
    else:
        end_at = datetime.fromtimestamp(floor_to(now.timestamp(), bucket) + GRAINS[bucket], UTC)
    start_at = (_parse(start, "start", zone) if start else
                _midnight(local_now.replace(day=1), zone))
    return start_at, end_at


def bucket_bounds(start: datetime, end: datetime, bucket: str, zone: ZoneInfo) -> list[int]:
    """The epoch starts of the series' buckets, from the one holding ``start`` to the last
    that starts before ``end``, then the end of the last. Days are ``zone``'s (23 or 25 hours
    across a DST change), from local midnight, floored to the hour where the zone's offset is
    not whole hours (India's days start at 23:30 local here): the rollups under them are
    hourly. The last bucket ends at ``end`` (rounded up to the second) if that comes first."""
    end_s = math.ceil(end.timestamp())
    if bucket != "day":
        return [*range(floor_to(start.timestamp(), bucket), end_s, GRAINS[bucket]), end_s]
    day = _midnight(start.astimezone(zone), zone)
    bounds: list[int] = []
    while True:
        at = int(day.timestamp()) // HOUR * HOUR
        if bounds and day.timestamp() >= end_s:
            return [*bounds, min(at, end_s)]
        bounds.append(at)
        day = _midnight(day + timedelta(days=1), zone)  # wall-clock days: 23 or 25 hours
