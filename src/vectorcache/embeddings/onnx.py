"""A shipped sentence encoder on onnxruntime + tokenizers: no torch at run time.

The models ship as int8 ONNX files in the package (``embeddings/shipped.py``); loading one
takes ~0.2 s. Output matches sentence-transformers' (mean pool over the mask, then L2).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vectorcache.embeddings.base import Vectors
from vectorcache.embeddings.shipped import DEFAULT_MODEL, ShippedModel, shipped_model

__all__ = ["OnnxEncoder"]

_CHUNK = 32  # texts per onnxruntime call when batching pays (fp32): sorting by length + chunking


@dataclass(frozen=True)
class _Profile:
    """How a precision is best run on this machine (measured: BENCHMARKS.md, embedding)."""

    chunk: int  # texts per onnxruntime call
    threads: int  # onnxruntime intra-op threads per call
    parallel_calls: int  # calls worth running side by side (the batcher's worker threads)


def _profile(precision: str, threads: int | None) -> _Profile:
    cores = os.cpu_count() or 1
    if precision == "int8":
        # One text per call: dynamic quantisation scales activations over the whole input
        # tensor, so a text batched with others (and their padding) would get a slightly
        # different vector than alone; one per call keeps a prompt's vector independent of the
        # load. And one thread per call, one call per core: a second intra-op thread saves
        # ~0.4 ms on a lone prompt, but onnxruntime's pool threads spin between calls: with
        # requests 10 ms apart the process burned 16.7 ms of CPU per prompt instead of 3.9,
        # CPU the event loop and the other calls need.
        n = threads or 1
        return _Profile(chunk=1, threads=n, parallel_calls=max(1, min(4, cores // n)))
    return _Profile(chunk=_CHUNK, threads=threads or min(2, cores), parallel_calls=1)


class OnnxEncoder:
    """Thread-safe sentence encoder over one shipped model."""

    def __init__(self, model: str | ShippedModel = DEFAULT_MODEL, *,
                 threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = shipped_model(model) if isinstance(model, str) else model
        self.spec = spec
        self.model_id = spec.model_id
        self.dims = spec.dims
        self.precision = spec.precision
        profile = _profile(spec.precision, threads)
        self._chunk = self.preferred_batch = profile.chunk
        self.parallel_calls = profile.parallel_calls
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = profile.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(
            str(spec.onnx_file), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
        tokenizer.enable_truncation(max_length=spec.max_tokens)
        # padding to the longest in the batch; "[PAD]" is the vocabulary's pad token
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
        self._tokenizer: Any = tokenizer

    @property
    def space(self) -> str:
        return self.spec.space

    def encode(self, texts: Sequence[str]) -> Vectors:
        texts = list(texts)
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        session = self._session  # run() is thread-safe: calls from several threads run at once
        if session is None:
            raise RuntimeError("OnnxEncoder is closed")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._chunk):
            rows = order[start:start + self._chunk]
            out[rows] = self._encode_chunk(session, [texts[i] for i in rows])
        return out

    def _encode_chunk(self, session: Any, texts: list[str]) -> Vectors:
        batch = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        types = np.array([e.type_ids for e in batch], dtype=np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def close(self) -> None:
        self._session = None  # calls already running keep their reference and finish
