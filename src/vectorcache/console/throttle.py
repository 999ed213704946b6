"""Sign-in throttling: failures counted per account and per client IP in a window; past the
limit, the subject is locked out for a while (every replica sees it: the counts are rows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from vectorcache.console.records import ConsoleRecords
from vectorcache.errors import RateLimited

__all__ = ["LoginThrottle"]


class LoginThrottle:
    def __init__(self, records: ConsoleRecords, *, max_failures: int, ip_max_failures: int,
                 window_seconds: int, lockout_seconds: int) -> None:
        self._records = records
        self._limits = {"user": max_failures, "ip": ip_max_failures}
        self._window = timedelta(seconds=window_seconds)
        self._lockout = timedelta(seconds=lockout_seconds)

    @staticmethod
    def subjects(name: str, ip: str | None) -> list[str]:
        return [f"user:{name.lower()}"] + ([f"ip:{ip}"] if ip else [])

    async def check(self, subjects: list[str], now: datetime) -> None:
        """Refuses (429 ``login_locked``) while any subject is locked out."""
        for subject in subjects:
            found = await self._records.failure(subject)
            if found is not None and found[2] is not None and found[2] > now:
                wait = int((found[2] - now).total_seconds()) + 1
                raise RateLimited("Too many failed sign-ins; try again later.",
                                  retry_after=wait, code="login_locked")

    async def failed(self, subjects: list[str], now: datetime) -> bool:
        """Count a failure; True when it locked a subject out."""
        locked = False
        for subject in subjects:
            found = await self._records.failure(subject)
            count, start = (0, now) if found is None or now - found[1] > self._window \
                else (found[0], found[1])
            count += 1
            limit = self._limits[subject.split(":", 1)[0]]
            until = now + self._lockout if count >= limit else None
            locked = locked or until is not None
            await self._records.put_failure(subject, 0 if until else count,
                                            now if until else start, until)
        return locked

    async def succeeded(self, name: str) -> None:
        await self._records.clear_failures(f"user:{name.lower()}")
