"""An in-process vector index, partitioned: a search only ever sees one partition's vectors.

Labels are the store's integer row ids. Vectors are L2-normalised float32, so the inner
product is the cosine similarity. Implementations are thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Match", "VectorIndex"]

Match = tuple[int, float]  # (label, cosine similarity)


class VectorIndex(Protocol):
    dims: int

    def add(self, partition: str, labels: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        """Add vectors; re-adding a label replaces it."""

    def remove(self, labels: Sequence[int]) -> None:
        """Remove labels; unknown labels are ignored."""

    def search(self, partition: str, vector: npt.NDArray[np.float32], k: int) -> list[Match]:
        """The ``k`` nearest labels in ``partition``, best first."""

    def labels(self) -> set[int]:
        """Every label held (used to reconcile a loaded snapshot with the records)."""

    def save(self, path: Path) -> None:
        """Write a snapshot atomically."""

    def load(self, path: Path) -> bool:
        """Replace contents with a snapshot; False if there is none or it does not fit."""

    def converting(self) -> set[str]:
        """Partitions being (re)built in the background (they keep answering meanwhile)."""

    def __len__(self) -> int: ...
