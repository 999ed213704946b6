"""The ``Encoder`` (a model that turns texts into vectors) and the async ``Embedder`` around it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "Encoder", "Vectors"]

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    """A synchronous, thread-safe sentence encoder. Rows are L2-normalised float32.

    An encoder may also say how many ``encode`` calls it can usefully run at once
    (``parallel_calls``, default 1; the batching embedder runs that many worker threads) and how
    many texts a call should carry (``preferred_batch``: an encoder that runs texts one by one
    gains nothing from batches, and every caller in a batch waits for the whole batch).
    """

    model_id: str
    dims: int

    def encode(self, texts: Sequence[str]) -> Vectors: ...

    def close(self) -> None: ...


class Embedder(Protocol):
    """What the cache service uses: async, never blocks the event loop."""

    model_id: str
    dims: int

    async def embed(self, texts: Sequence[str]) -> Vectors: ...

    async def close(self) -> None: ...
