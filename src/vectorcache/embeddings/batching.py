"""The async embedder: coalesces concurrent ``embed()`` calls into encoder batches.

Worker threads own the encoder calls: as many as the encoder can usefully run side by side
(``Encoder.parallel_calls``: the int8 ONNX model runs single-threaded, one call per core). A
worker takes its share of whatever has queued (split over the workers; at most ``max_batch``
texts a call), encodes it in one call, and hands each caller its own rows. There
is no waiting window: an idle worker starts on the first request at once, and requests that
arrive while the workers are busy form the next batches. A failed batch is retried request by
request, so an error reaches only its callers.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vectorcache.embeddings.base import Encoder, Vectors
from vectorcache.errors import ServiceUnavailable

__all__ = ["BatchingEmbedder"]


@dataclass(eq=False)
class _Request:
    texts: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Vectors] = field(repr=False)


_STOP = None


class BatchingEmbedder:
    def __init__(self, encoder: Encoder, *, max_batch: int = 64,
                 workers: int | None = None) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._encoder = encoder
        self.model_id = encoder.model_id
        #: the model and precision of its vectors (``runtime.embedding_space``)
        self.space: str = getattr(encoder, "space", f"{encoder.model_id} fp32")
        self.dims = encoder.dims
        self.max_batch = min(max_batch, getattr(encoder, "preferred_batch", None) or max_batch)
        self.workers = max(1, workers or getattr(encoder, "parallel_calls", 1))
        self.batches_run = 0  # encoder calls made (a retried batch counts each call)
        self.texts_embedded = 0
        self._counters = threading.Lock()
        # a C-level queue: a blocked worker wakes on put() without a Python-level handshake
        # (a threading.Condition here measured ~0.6 ms slower per idle-server request)
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, daemon=True,
                             name="embed-batcher" if i == 0 else f"embed-batcher-{i}")
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a worker (``/metrics``)."""
        return self._queue.qsize()

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if self._closed:
            raise ServiceUnavailable("The embedder is shut down.")
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dims), dtype=np.float32)
        loop = asyncio.get_running_loop()
        request = _Request(texts, loop, loop.create_future())
        self._queue.put(request)
        return await request.future

    async def close(self) -> None:
        """Stop taking requests, finish the queued ones, then close the encoder."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
        while True:  # requests from another thread that raced the stop markers
            try:
                late = self._queue.get_nowait()
            except queue.Empty:
                break
            if late is not None:
                _deliver(late, error=ServiceUnavailable("The embedder is shut down."))
        self._encoder.close()

    # -- worker threads ------------------------------------------------------------------

    def _work(self) -> None:
        carry: deque[_Request] = deque()
        stopping = False
        while carry or not stopping:
            if not carry:
                item = self._queue.get()  # idle: block until the next request
                if item is _STOP:
                    stopping = True
                    continue
                carry.append(item)
            stopping = self._take_share(carry) or stopping
            self._run(self._next_batch(carry))

    def _take_share(self, carry: deque[_Request]) -> bool:
        """Move this worker's share of what is queued into ``carry`` (the rest stays for the
        other workers); True if a stop marker was taken."""
        share = min(self.max_batch,
                    math.ceil((len(carry) + self._queue.qsize()) / self.workers))
        while len(carry) < max(share, 1):
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            carry.append(item)
        return False

    def _next_batch(self, carry: deque[_Request]) -> list[_Request]:
        """Whole requests up to ``max_batch`` texts (a bigger request goes alone)."""
        batch = [carry.popleft()]
        size = len(batch[0].texts)
        while carry and size + len(carry[0].texts) <= self.max_batch:
            size += len(carry[0].texts)
            batch.append(carry.popleft())
        return batch

    def _run(self, batch: list[_Request]) -> None:
        batch = [r for r in batch if not r.future.cancelled()]  # callers that gave up
        if not batch:
            return
        try:
            vectors = self._encode([t for r in batch for t in r.texts])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting callers, who raise it
            if len(batch) == 1:
                _deliver(batch[0], error=exc)
            else:  # find whose texts failed: only they get the error
                for request in batch:
                    self._run([request])
            return
        start = 0
        for request in batch:
            end = start + len(request.texts)
            _deliver(request, result=vectors[start:end])
            start = end

    def _encode(self, texts: list[str]) -> Vectors:
        with self._counters:  # shared by the workers
            self.batches_run += 1
        vectors = self._encoder.encode(texts)
        if vectors.shape != (len(texts), self.dims):
            raise RuntimeError(f"encoder returned shape {vectors.shape} for {len(texts)} texts")
        with self._counters:
            self.texts_embedded += len(texts)
        return vectors


def _deliver(request: _Request, *, result: Vectors | None = None,
             error: BaseException | None = None) -> None:
    """Settle the caller's future on its own event loop (futures are not thread-safe)."""
    def settle() -> None:
        if request.future.done():  # cancelled meanwhile
            return
        if result is not None:
            request.future.set_result(result)
        else:
            request.future.set_exception(error or RuntimeError("no result"))

    try:
        request.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the caller's event loop is closed: nobody is waiting
        pass
