"""The embedding models shipped in the package, as ONNX files: nothing is exported, trained or
downloaded at run time.

Each folder under ``models/`` holds ``model.onnx`` (int8, dynamic quantisation), the
``tokenizer.json`` it was trained with, and ``model.json`` (its id, dimensions, token limit and
file hash). ``training/export_model.py`` writes them; ``MODEL_CARD.md`` beside each says how it
was made and what it measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vectorcache.errors import ConfigurationError

__all__ = ["DEFAULT_MODEL", "STOCK_MODEL", "TRAINED_MODEL", "ShippedModel", "shipped_model",
           "shipped_models", "tokenizer_file"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
#: MiniLM-L6 fine-tuned on the labelled training pairs (``training/``): better on QQP-like
#: questions at looser targets, worse on short chat-style paraphrases (its MODEL_CARD.md)
TRAINED_MODEL = "vc-minilm-l6-pairs"
#: the stock all-MiniLM-L6-v2
STOCK_MODEL = "all-minilm-l6-v2"
#: the default, until a trained model beats the stock one on every source (BENCHMARKS.md)
DEFAULT_MODEL = STOCK_MODEL


@dataclass(frozen=True)
class ShippedModel:
    name: str
    folder: Path
    model_id: str
    dims: int
    max_tokens: int
    precision: str

    @property
    def onnx_file(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def tokenizer_file(self) -> Path:
        return self.folder / "tokenizer.json"

    @property
    def space(self) -> str:
        """What makes two vectors comparable: the model and its precision."""
        return f"{self.model_id} {self.precision}"


def _read(folder: Path) -> ShippedModel:
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    return ShippedModel(name=folder.name, folder=folder, model_id=str(meta["model_id"]),
                        dims=int(meta["dims"]), max_tokens=int(meta["max_tokens"]),
                        precision=str(meta["precision"]))


def shipped_models() -> dict[str, ShippedModel]:
    """Every model in the package, by name."""
    if not MODELS_DIR.is_dir():
        return {}
    return {f.name: _read(f) for f in sorted(MODELS_DIR.iterdir())
            if (f / "model.json").is_file()}


def shipped_model(name: str) -> ShippedModel:
    models = shipped_models()
    try:
        return models[name]
    except KeyError:
        raise ConfigurationError(
            f"Unknown VECTORCACHE_EMBEDDING_MODEL {name!r}; the package ships "
            f"{sorted(models) or 'no model (a broken install: reinstall vectorcache)'}."
        ) from None


def tokenizer_file() -> Path:
    """The WordPiece tokenizer every shipped model shares (the decision's guards read it)."""
    return MODELS_DIR / STOCK_MODEL / "tokenizer.json"
