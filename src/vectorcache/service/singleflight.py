"""Coalesce concurrent identical work: the first caller runs it, the others share its result.

Used on cache misses so that N identical prompts arriving together cost one provider call, not N.
If the leader is cancelled (its client went away), one waiting follower takes over instead of
failing; any other error is shared, as every follower would have met it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _LeaderGone(Exception):
    pass


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``work()``'s result, and whether it was shared from another caller's run."""
        while True:
            pending = self._inflight.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending), True
            except _LeaderGone:
                continue  # the leader was cancelled: try to lead
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await work()
        except asyncio.CancelledError:
            future.set_exception(_LeaderGone())
            future.exception()  # retrieved: no warning when nobody waited
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        else:
            future.set_result(value)
            return value, False
        finally:
            del self._inflight[key]
