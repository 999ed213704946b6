"""A webhook receiver on loopback: keeps every delivery (headers and raw body) and can be told
to fail the next few with a 5xx, to exercise retries. Checks signatures the way a user's
receiver should (``vectorcache.monitoring.webhooks.verify``)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vectorcache.testing.loopback import LoopbackServer

__all__ = ["WebhookReceiver"]


class WebhookReceiver(LoopbackServer):
    name = "webhook-receiver"

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = 0
        self.deliveries: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def routes(self) -> list[Route]:
        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            with self._lock:
                failing = self.fail_next > 0
                self.fail_next -= 1 if failing else 0
                if not failing:
                    self.deliveries.append(({k.lower(): v for k, v in request.headers.items()},
                                            body))
            self.count(json.loads(body) if body else {})
            if failing:
                return JSONResponse({"error": "try later"}, status_code=503)
            return JSONResponse({"ok": True})

        return [Route("/hook", hook, methods=["POST"])]

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.deliveries]
