"""Weight-space interpolation of the stock and the trained embedder (WiSE-FT), for research.

    python -m research.interpolate_models --alpha 0.5 [--name vc-wise-050]

Wortsman et al., "Robust fine-tuning of zero-shot models" (CVPR 2022): averaging a fine-tuned
model's weights with its base's keeps most of the fine-tuning's gain where it was trained and
the base's behaviour elsewhere. Here the question is whether it keeps the trained model's QQP
gain while giving chat-style paraphrases back the stock geometry (research/LOG.md, issue 18).

Both shipped ONNX files come from one export of one architecture, so their initializers match
by name. A weight ``w = (q - zero_point) * scale`` is dequantised in each, mixed as
``(1 - alpha) * stock + alpha * trained``, and quantised again as the exporter did it
(per-column symmetric int8 for the matrices, per-tensor asymmetric for the embedding tables);
float initializers are mixed directly. Writes a model folder next to the shipped ones (ONNX,
tokenizer, model.json), which ``research.trained_verifier_cv --model NAME`` then measures. Delete
it afterwards: it is not a shipped model. Needs ``onnx`` (the training extra).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vectorcache.embeddings.shipped import MODELS_DIR

STOCK, TRAINED = "all-minilm-l6-v2", "vc-minilm-l6-pairs"
_Q = "_quantized"


def requantize(w: np.ndarray, like: np.ndarray, zero_point: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``w`` quantised in ``like``'s integer type and scheme: (q, scale, zero_point)."""
    info = np.iinfo(like.dtype)
    if zero_point.ndim and not zero_point.any():  # per column, symmetric
        scale = (np.abs(w).max(axis=0) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        q = np.clip(np.round(w / scale), -127, 127).astype(like.dtype)
        return q, scale, np.zeros_like(zero_point)
    low, high = min(0.0, float(w.min())), max(0.0, float(w.max()))  # per tensor, asymmetric
    scale = np.float32((high - low) / (info.max - info.min) or 1.0)
    zp = np.round(info.min - low / scale)
    q = np.clip(np.round(w / scale) + zp, info.min, info.max).astype(like.dtype)
    return q, np.asarray(scale, dtype=np.float32), np.asarray(zp, dtype=zero_point.dtype)


def interpolate(alpha: float, name: str) -> Path:
    import onnx
    from onnx import numpy_helper

    stock = onnx.load(str(MODELS_DIR / STOCK / "model.onnx"))
    trained = onnx.load(str(MODELS_DIR / TRAINED / "model.onnx"))
    a = {t.name: numpy_helper.to_array(t) for t in stock.graph.initializer}
    b = {t.name: numpy_helper.to_array(t) for t in trained.graph.initializer}
    if set(a) != set(b):
        raise SystemExit("the two models' initializers differ: not one export")
    mixed: dict[str, Any] = {}
    for key, value in b.items():
        if key.endswith(_Q):
            base = key[: -len(_Q)]
            scale_a, zp_a = a[base + "_scale"], a[base + "_zero_point"]
            scale_b, zp_b = b[base + "_scale"], b[base + "_zero_point"]
            w_a = (a[key].astype(np.float32) - zp_a.astype(np.float32)) * scale_a
            w_b = (value.astype(np.float32) - zp_b.astype(np.float32)) * scale_b
            q, scale, zp = requantize((1 - alpha) * w_a + alpha * w_b, value, zp_b)
            mixed[key], mixed[base + "_scale"], mixed[base + "_zero_point"] = q, scale, zp
        elif value.dtype == np.float32 and key not in mixed:
            mixed[key] = ((1 - alpha) * a[key] + alpha * value).astype(np.float32)
    for tensor in trained.graph.initializer:
        if tensor.name in mixed:
            tensor.CopyFrom(numpy_helper.from_array(mixed[tensor.name], tensor.name))
    out = MODELS_DIR / name
    out.mkdir(exist_ok=True)
    onnx.save(trained, str(out / "model.onnx"))
    shutil.copy(MODELS_DIR / TRAINED / "tokenizer.json", out / "tokenizer.json")
    spec = json.loads((MODELS_DIR / TRAINED / "model.json").read_text())
    spec.update(model_id=f"research/{name}", fp32_sha256=None,
                sha256=hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest())
    (out / "model.json").write_text(json.dumps(spec, indent=2) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alpha", type=float, required=True, help="0: stock, 1: trained")
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    name = args.name or f"vc-wise-{round(args.alpha * 100):03d}"
    print(interpolate(args.alpha, name))


if __name__ == "__main__":
    main()
