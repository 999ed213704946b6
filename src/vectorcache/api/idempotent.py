"""The ``Idempotency-Key`` request header on the routes that may call the provider
(``POST /v1/cache/query``, non-streaming ``POST /v1/chat/completions``): a retry with the same
key is answered with the first request's response (``Idempotent-Replayed: true``) instead of
asking the provider again. What is kept, for how long, and where: ``service/idempotency.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from vectorcache.api.deps import runtime
from vectorcache.api.errors import error_response
from vectorcache.errors import UpstreamError, ValidationFailed
from vectorcache.service.auth import Principal
from vectorcache.service.idempotency import Kept

__all__ = ["HEADER", "idempotent"]

HEADER = "Idempotency-Key"
#: 1..255 visible ASCII characters (a UUID is what the SDK sends)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
#: response headers replayed with the body (rate-limit headers are the retry's own)
_REPLAYED = ("x-vectorcache-", "x-fallback-used", "retry-after")


def _kept(response: Response) -> Kept:
    headers = {k: v for k, v in response.headers.items() if k.lower().startswith(_REPLAYED)}
    return Kept(response.status_code, bytes(response.body), headers)


async def idempotent(request: Request, principal: Principal,
                     produce: Callable[[], Awaitable[Response]]) -> Response:
    """``produce()``'s response, kept under the request's ``Idempotency-Key`` (if it has
    one) for retries; or, for a retry, the response kept."""
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    if not _KEY.fullmatch(key):
        raise ValidationFailed(f"{HEADER} must be 1 to 255 visible ASCII characters",
                               param=HEADER)
    digest = hashlib.sha256(request.url.path.encode() + b"\0" + await request.body())
    slot = (principal.project.id, principal.key_id, key)
    async with runtime(request).idempotency.turn(slot, digest.hexdigest()) as turn:
        if turn.replay is not None:
            return Response(turn.replay.body, status_code=turn.replay.status,
                            media_type="application/json",
                            headers={**turn.replay.headers, "Idempotent-Replayed": "true"})
        try:
            response = await produce()
        except UpstreamError as exc:
            if exc.may_have_billed:  # the provider may have worked: never asked twice
                turn.keep(_kept(error_response(request.url.path, exc)))
            raise
        if isinstance(response, JSONResponse):  # a stream is not kept
            turn.keep(_kept(response))
        return response
