"""The learned pair verifier: small boosted trees over ``features.pair_features``, plain Python.

The weights are fitted offline by ``training/train_verifier.py`` (scikit-learn's gradient
boosting; the stock model's ``verifier.json`` by ``research/dev_cv_verifier.py``) and shipped
next to this module, with the feature names and the guards that veto (``guards.VETOES``) they
were measured with; both are checked against this code when a file loads. Scoring needs no
scikit-learn: each tree is a few comparisons, the sum goes through a logistic.

The JSON also holds the operating points measured in cross-validation: for a target
wrong-answer rate, the cosine floor and probability cutoff that met it on the dev replay stream,
one row per lowest floor a project's similarity_threshold allows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from vectorcache.decision.features import FEATURE_NAMES
from vectorcache.decision.guards import REGISTRY

__all__ = ["WEIGHTS_FILE", "OperatingPoint", "Verifier", "choose_point", "load_verifier"]

WEIGHTS_FILE = "verifier.json"


@dataclass(frozen=True)
class OperatingPoint:
    """One row of the calibration table: what met ``target_error_rate`` on dev (grouped CV)."""

    target_error_rate: float
    cosine_floor: float
    cutoff: float
    #: measured in CV on the dev QQP replay stream, for the debug output and the docs
    cv_false_hit_rate: float
    cv_recall: float

    def floor_for(self, threshold: float) -> float:
        """The cosine floor served under a project's similarity_threshold."""
        return max(threshold, self.cosine_floor)


@dataclass(frozen=True)
class _Tree:
    left: tuple[int, ...]
    right: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    value: tuple[float, ...]

    def predict(self, x: Sequence[float]) -> float:
        node = 0
        left, right, feature, threshold = self.left, self.right, self.feature, self.threshold
        while left[node] != -1:
            node = left[node] if x[feature[node]] <= threshold[node] else right[node]
        return self.value[node]


class Verifier:
    """``probability(features) -> P(a cached answer for the stored prompt answers the query)``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        names = tuple(spec["features"])
        if names != FEATURE_NAMES:
            raise ValueError(
                f"{WEIGHTS_FILE} was trained on features {names}, but this code computes "
                f"{FEATURE_NAMES}; rerun training/train_verifier.py."
            )
        self.version = str(spec.get("version", "unknown"))
        self._init = float(spec["init"])
        self._rate = float(spec["learning_rate"])
        self._trees = tuple(
            _Tree(
                left=tuple(t["left"]), right=tuple(t["right"]), feature=tuple(t["feature"]),
                threshold=tuple(t["threshold"]), value=tuple(t["value"]),
            )
            for t in spec["trees"]
        )
        self.vetoes: frozenset[str] = frozenset(spec.get("vetoes", ()))
        unknown = self.vetoes - {g.name for g in REGISTRY}
        if unknown:
            raise ValueError(
                f"{WEIGHTS_FILE} vetoes with guards {sorted(unknown)} that this code does not "
                f"have (guards.REGISTRY); rerun training/train_verifier.py."
            )
        points = [OperatingPoint(**p) for p in spec["operating_points"]]
        self.operating_points = tuple(sorted(points, key=lambda p: p.target_error_rate))
        self.default_target_error_rate = float(spec["default_target_error_rate"])

    def probability(self, x: Sequence[float]) -> float:
        z = self._init + self._rate * sum(t.predict(x) for t in self._trees)
        return 1.0 / (1.0 + math.exp(-z))

    def operating_point(self, target_error_rate: float | None,
                        threshold: float = 0.0) -> OperatingPoint:
        target = self.default_target_error_rate if target_error_rate is None else target_error_rate
        return choose_point(self.operating_points, target, threshold)


def choose_point(points: Sequence[OperatingPoint], target: float,
                 threshold: float) -> OperatingPoint:
    """The measured point for the strictest target within ``target``: of that target's rows,
    the one with the most CV recall whose floor is at least ``threshold`` (the project's
    similarity_threshold, which caps the floor from below, so the point's CV figures are what
    the project gets); for a threshold above every row's floor, nothing was measured, and the
    strictest cutoff applies."""
    ordered = sorted(points, key=lambda p: p.target_error_rate)
    chosen = ordered[0].target_error_rate
    for point in ordered:
        if point.target_error_rate <= target + 1e-12:
            chosen = point.target_error_rate
    rows = [p for p in ordered if p.target_error_rate == chosen]
    fitting = [p for p in rows if p.cosine_floor >= threshold - 1e-9]
    if fitting:
        return max(fitting, key=lambda p: (p.cv_recall, -p.cv_false_hit_rate))
    return max(rows, key=lambda p: (p.cutoff, p.cosine_floor))


@lru_cache(maxsize=1)
def load_verifier(model: str | None = None) -> Verifier:
    """The verifier shipped for the embedding ``model`` (``verifier-<model>.json``: its cosine
    feature is that model's), else the one for the stock model (``verifier.json``)."""
    folder = resources.files("vectorcache.decision")
    own = folder.joinpath(f"verifier-{model}.json") if model else None
    chosen = own if own is not None and own.is_file() else folder.joinpath(WEIGHTS_FILE)
    return Verifier(json.loads(chosen.read_text("utf-8")))
