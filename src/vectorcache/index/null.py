"""No vectors at all: for processes that manage records but never search (the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vectorcache.index.base import Match

__all__ = ["NullIndex"]


class NullIndex:
    def __init__(self, dims: int) -> None:
        self.dims = dims

    def add(self, partition: str, labels: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        return None

    def remove(self, labels: Sequence[int]) -> None:
        return None

    def search(self, partition: str, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        return []

    def labels(self) -> set[int]:
        return set()

    def save(self, path: Path) -> None:
        return None  # never overwrite a serving process's snapshot

    def load(self, path: Path) -> bool:
        return False

    def converting(self) -> set[str]:
        return set()

    def __len__(self) -> int:
        return 0
