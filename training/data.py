"""The labelled data the trainers read: the training split to fit, the dev split to select."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_DATA", "load_dev_pairs", "load_jsonl", "load_train_pairs"]

#: ``shared/data`` beside the checkout, as CI and the sessions have it
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_train_pairs(data: Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    """Every training pair (QQP, PAWS-Wiki, MRPC), in file order."""
    return load_jsonl(data / "train" / "pairs_train.jsonl.gz")


def load_dev_pairs(data: Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    return load_jsonl(data / "pairs_dev.jsonl")
