"""The two transport shells: ``VectorcacheClient`` (sync) and ``AsyncVectorcacheClient``.

Each only sends requests and sleeps; every method comes from ``Endpoints`` through
``_sync``/``_async``, so no method is ever written twice. (The builders only use what
``BaseClient`` has, so the shells share its base rather than ``Endpoints`` itself: each
method's sync or async signature then stays the one type checkers see.)
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import httpx

from vectorcache_client._api import Endpoints
from vectorcache_client._base import BaseClient, Call, Step

__all__ = ["AsyncVectorcacheClient", "VectorcacheClient"]

P = ParamSpec("P")
T = TypeVar("T")


def _drive_sync(step: Step[T], send: Callable[[httpx.Request], httpx.Response]) -> T:
    try:
        action = next(step)
        while True:
            if isinstance(action, float | int):
                time.sleep(action)
                action = step.send(None)
                continue
            try:
                response = send(action)
            except httpx.TransportError as exc:
                action = step.throw(exc)
            else:
                action = step.send(response)
    except StopIteration as done:
        result: T = done.value
        return result


async def _drive_async(step: Step[T], send: Callable[[httpx.Request],
                                                     Coroutine[Any, Any, httpx.Response]]) -> T:
    try:
        action = next(step)
        while True:
            if isinstance(action, float | int):
                await asyncio.sleep(action)
                action = step.send(None)
                continue
            try:
                response = await send(action)
            except httpx.TransportError as exc:
                action = step.throw(exc)
            else:
                action = step.send(response)
    except StopIteration as done:
        result: T = done.value
        return result


def _sync(build: Callable[Concatenate[Any, P], Call[T]]
          ) -> Callable[Concatenate[VectorcacheClient, P], T]:
    @functools.wraps(build)
    def method(self: VectorcacheClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return _drive_sync(self._exchange(build(self, *args, **kwargs)), self._http.send)

    return cast("Callable[Concatenate[VectorcacheClient, P], T]", method)


def _async(build: Callable[Concatenate[Any, P], Call[T]]
           ) -> Callable[Concatenate[AsyncVectorcacheClient, P], Coroutine[Any, Any, T]]:
    @functools.wraps(build)
    async def method(self: AsyncVectorcacheClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return await _drive_async(self._exchange(build(self, *args, **kwargs)),
                                  self._http.send)

    return cast("Callable[Concatenate[AsyncVectorcacheClient, P], Coroutine[Any, Any, T]]",
                method)


class VectorcacheClient(BaseClient):
    """``VectorcacheClient(api_key=..., base_url=...)``; both default to
    ``$VECTORCACHE_API_KEY`` and ``$VECTORCACHE_BASE_URL`` (http://127.0.0.1:8000)."""

    def __init__(self, *, http_client: httpx.Client | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._http = http_client or httpx.Client(timeout=self.timeout)

    query = _sync(Endpoints.query)
    lookup = _sync(Endpoints.lookup)
    store = _sync(Endpoints.store)
    stats = _sync(Endpoints.stats)
    clear = _sync(Endpoints.clear)
    feedback = _sync(Endpoints.feedback)
    similar = _sync(Endpoints.similar)
    health = _sync(Endpoints.health)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VectorcacheClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncVectorcacheClient(BaseClient):
    """The same API with ``await``: ``async with AsyncVectorcacheClient() as vc: ...``"""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None,
                 **options: Any) -> None:
        super().__init__(**options)
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)

    query = _async(Endpoints.query)
    lookup = _async(Endpoints.lookup)
    store = _async(Endpoints.store)
    stats = _async(Endpoints.stats)
    clear = _async(Endpoints.clear)
    feedback = _async(Endpoints.feedback)
    similar = _async(Endpoints.similar)
    health = _async(Endpoints.health)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncVectorcacheClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
