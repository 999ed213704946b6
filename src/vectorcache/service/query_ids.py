"""The ``query_id`` of each answer: a UUID4, unique but no secret.

Drawn from a PRNG seeded from the OS once, because ``uuid.uuid4()`` makes a ``getrandom``
syscall per call, which releases the GIL on the event loop's thread (4 % of its time under
load went to re-acquiring it). The generator is owned by the service that hands ids out, and
a test passes a seeded one for ids it can predict.
"""

from __future__ import annotations

import os
import random
import uuid

__all__ = ["QueryIds"]


class QueryIds:
    def __init__(self, rng: random.Random | None = None) -> None:
        # ids need to be unique, not secret
        self._rng = rng or random.Random(os.urandom(32))  # noqa: S311

    def new(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
