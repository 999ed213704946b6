"""A Starlette app served by uvicorn on 127.0.0.1 in a background thread, started and stopped
without sleeps (start waits on uvicorn's own start-up). The base of the fake providers."""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

__all__ = ["LoopbackServer", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self._ready.set()


class LoopbackServer(ABC):
    """Subclasses give ``routes()``; ``with Sub() as s: s.port``. Counts nothing by itself."""

    name = "loopback"

    def __init__(self) -> None:
        self.port = free_port()
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None

    @abstractmethod
    def routes(self) -> list[Route]:
        """The app's routes."""

    def count(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.calls += 1
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
            self._lock.notify_all()

    def seen(self, messages: object) -> int:
        """How many requests so far carried these ``messages`` (this one included)."""
        with self._lock:
            return sum(1 for body in self.requests if body.get("messages") == messages)

    def wait_for_calls(self, calls: int, timeout: float = 30.0) -> bool:
        """Blocks until the server has received ``calls`` requests in all (False on timeout)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.calls >= calls, timeout)

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.requests.clear()
            self.arrivals.clear()

    def start(self) -> Self:
        ready = threading.Event()
        config = uvicorn.Config(Starlette(routes=self.routes()), host="127.0.0.1",
                                port=self.port, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = _Server(config, ready)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name=self.name)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError(f"{self.name} did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
