"""all-MiniLM-L6-v2 on onnxruntime + tokenizers: no torch at run time.

The bundled safetensors weights are exported to ONNX once (this is the only place torch is
imported) into the model cache dir, under a name keyed by the weights' hash, so a changed model
re-exports and a server start with an existing export costs ~0.2 s instead of torch's ~6 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorcache.embeddings.base import Vectors
from vectorcache.embeddings.reference import MODEL_ID, bundled_model_dir

__all__ = ["OnnxEncoder", "ensure_onnx_model", "export_onnx", "weights_key"]

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_EXPORT_FORMAT = 1  # bump when the export recipe changes, so old files are not reused
_OPSET = 17
_CHUNK = 32  # fp32 texts per onnxruntime call: sorting by length + chunking cuts padding


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


def weights_key(model_dir: Path) -> str:
    """A short hash of the weights file and the export recipe version."""
    digest = hashlib.sha256(f"format={_EXPORT_FORMAT};opset={_OPSET};".encode())
    with open(model_dir / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def export_onnx(model_dir: Path, out: Path) -> None:
    """Export the HF BertModel to ONNX (fp32) at ``out``. Imports torch; call once."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class _KeywordCall(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about the (constant) mask branches
        torch.onnx.export(
            _KeywordCall(),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An inter-process lock (flock), so concurrent starters export once."""
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _build_atomically(target: Path, build: Callable[[Path], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        build(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


PRECISIONS = ("fp32", "int8")


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation (per-channel weights, activations quantised per call)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), per_channel=True, weight_type=QuantType.QInt8)


def ensure_onnx_model(model_dir: Path, cache_dir: Path, precision: str = "fp32") -> Path:
    """The path of the exported model in ``cache_dir``, exporting (and quantising) it if missing.

    ``int8`` is the fp32 export after onnxruntime's dynamic quantisation: about twice as fast on
    one prompt and batched, at a measured cost to the vectors (see BENCHMARKS.md, embedding).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"minilm-l6-v2-{weights_key(model_dir)}"
    fp32 = cache_dir / f"{stem}.onnx"
    target = fp32 if precision == "fp32" else cache_dir / f"{stem}-{precision}.onnx"
    if target.exists():
        return target
    with _exclusive(cache_dir / ".export.lock"):
        if not fp32.exists():  # another process may have exported while we waited
            _build_atomically(fp32, lambda tmp: export_onnx(model_dir, tmp))
        if not target.exists():
            _build_atomically(target, lambda tmp: quantize_int8(fp32, tmp))
    return target


class OnnxEncoder:
    """Thread-safe sentence encoder matching sentence-transformers' output (mean pool + L2)."""

    model_id = MODEL_ID
    dims = 384

    def __init__(self, cache_dir: Path, *, threads: int | None = None,
                 model_dir: Path | None = None, precision: str = "fp32") -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        source = model_dir or Path(bundled_model_dir())
        path = ensure_onnx_model(source, cache_dir, precision)
        self.precision = precision
        profile = _profile(precision, threads)
        self._chunk = self.preferred_batch = profile.chunk
        self.parallel_calls = profile.parallel_calls
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = profile.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        self._tokenizer: Any = tokenizer

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
