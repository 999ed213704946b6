"""One producer, many listeners: a stream read once and replayed in full to everyone listening.

Used for streamed cache misses, so that identical streaming requests arriving together cost one
provider call. A background task runs ``produce(emit)``; every item it emits is kept, and each
listener replays them from the first and then waits for more, at its own pace. The producer
does not depend on any one listener: the first client going away does not end the call for
the others. When the last listener leaves before the end, the producer is cancelled (the
provider stops generating), which is what a lone stream whose client leaves does too.

An error the producer raises is raised to every listener, after the items emitted before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Abandoned", "Broadcast", "Listener"]

T = TypeVar("T")
R = TypeVar("R")

#: the event loop keeps only weak references to tasks: hold the producers until they end
_RUNNING: set[asyncio.Task[None]] = set()


class Abandoned(Exception):
    """The producer was cancelled: nobody was listening any more."""


class Broadcast(Generic[T, R]):
    def __init__(self, produce: Callable[[Callable[[T], None]], Awaitable[R]],
                 on_done: Callable[[], None] | None = None) -> None:
        self.items: list[T] = []
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self._changed = asyncio.Event()
        self._listeners = 0
        self._on_done = on_done
        self._task = asyncio.get_running_loop().create_task(self._run(produce))
        _RUNNING.add(self._task)
        self._task.add_done_callback(_RUNNING.discard)

    async def _run(self, produce: Callable[[Callable[[T], None]], Awaitable[R]]) -> None:
        try:
            self.result = await produce(self._emit)
        except asyncio.CancelledError:
            self.error = Abandoned()
        except Exception as exc:  # noqa: BLE001 - handed to every listener, re-raised there
            self.error = exc
        finally:
            self.done = True
            self._notify()
            if self._on_done is not None:
                self._on_done()

    def _emit(self, item: T) -> None:
        self.items.append(item)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait(self) -> None:
        await self._changed.wait()

    def listen(self) -> Listener[T, R]:
        self._listeners += 1
        return Listener(self)

    def _leave(self) -> None:
        self._listeners -= 1
        if self._listeners == 0 and not self.done:
            self._task.cancel()


class Listener(Generic[T, R]):
    """Async iterator over every item, from the first; ``close()`` when done with it."""

    def __init__(self, source: Broadcast[T, R]) -> None:
        self._source = source
        self._next = 0
        self._closed = False

    @property
    def result(self) -> R | None:
        return self._source.result

    async def started(self) -> None:
        """Returns once there is a first item (or the end); raises the producer's error if it
        failed before emitting anything."""
        source = self._source
        while not source.items and not source.done:
            await source._wait()
        if not source.items and source.error is not None:
            raise source.error

    def __aiter__(self) -> Listener[T, R]:
        return self

    async def __anext__(self) -> T:
        source = self._source
        while True:
            if self._next < len(source.items):
                self._next += 1
                return source.items[self._next - 1]
            if source.done:
                if source.error is not None:
                    raise source.error
                raise StopAsyncIteration
            await source._wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._source._leave()
