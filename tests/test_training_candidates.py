"""The candidate lists the verifier's trainer and its dev cross-validation replay streams with.

Both scripts share one loop (``training.train_verifier.scored_candidates``); they differ only in
who scores a row: the shipped ensemble, or the fold model that never saw the query.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vectorcache.decision.analysis import analyse
from vectorcache.decision.guards import guard_flags

ROOT = Path(__file__).resolve().parents[1]

STREAM = [{"prompt": p} for p in (
    "How many moons does Mars have?",
    "How many moons orbit Mars?",
    "How many moons does Jupiter have?",
    "Is Mars not a planet?",
    "What is the capital of France?",
)]


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=float)
    return v / np.linalg.norm(v)


# cosines to prompt 0: 1 -> 0.99, 2 -> 0.90, 3 -> 0.80; 4 is the zero vector (0 to every prompt)
VECTORS = np.stack([
    unit(1, 0, 0, 0),
    unit(0.99, (1 - 0.99**2) ** 0.5, 0, 0),
    unit(0.90, 0, (1 - 0.90**2) ** 0.5, 0),
    unit(0.80, 0, 0, (1 - 0.80**2) ** 0.5),
    np.zeros(4),
])


class Constant:
    """A stand-in for a fitted classifier: ``predict_proba`` says ``p`` for every row."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([np.full(len(X), 1 - self.p), np.full(len(X), self.p)])


@pytest.fixture(scope="module")
def modules(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.syspath_prepend(str(ROOT))
    return (importlib.import_module("training.train_verifier"),
            importlib.import_module("research.dev_cv_verifier"))


def test_candidates_are_earlier_prompts_nearest_first_above_the_floor(
        modules: tuple[Any, Any]) -> None:
    trainer, _ = modules
    cands = trainer.scored_candidates(STREAM, VECTORS, lambda f, q: np.full(len(f), 0.5),
                                      lowest=0.85)
    assert cands[0] == []  # nothing before the first prompt
    assert [j for j, *_ in cands[1]] == [0]
    assert [j for j, *_ in cands[2]] == [0, 1]  # 0.90 to prompt 0, 0.99 * 0.90 = 0.891 to 1
    assert [round(c, 3) for _, c, *_ in cands[2]] == [0.9, 0.891]
    assert all(c >= 0.85 for row in cands for _, c, *_ in row)
    assert cands[3] == []  # 0.80 to prompt 0: under the floor
    assert cands[4] == []  # the zero vector is near nothing
    j, _, p, flags = cands[2][0]
    assert p == 0.5
    assert flags == guard_flags(analyse(STREAM[2]["prompt"]), analyse(STREAM[j]["prompt"]))


def test_depth_caps_each_query(modules: tuple[Any, Any]) -> None:
    trainer, _ = modules
    cands = trainer.scored_candidates(STREAM, VECTORS, lambda f, q: np.zeros(len(f)),
                                      depth=1, lowest=0.5)
    assert [len(row) for row in cands] == [0, 1, 1, 1, 0]


def test_the_guard_flags_see_a_negation(modules: tuple[Any, Any]) -> None:
    trainer, _ = modules
    cands = trainer.scored_candidates(STREAM, VECTORS, lambda f, q: np.zeros(len(f)), lowest=0.75)
    (j, _, _, flags), *_ = cands[3]
    assert j == 0 and flags["negation"]


def test_cross_validation_scores_each_query_with_its_own_fold(modules: tuple[Any, Any]) -> None:
    trainer, dev_cv = modules
    folds = [0, 1, 2, 3, 4]
    models = [Constant(0.1 * (f + 1)) for f in range(dev_cv.FOLDS)]
    cands = dev_cv.candidates(STREAM, VECTORS, models, folds)
    for i, row in enumerate(cands):
        assert all(p == pytest.approx(0.1 * (folds[i] + 1)) for _, _, p, _ in row)
    # the rows are the trainer's own, at the dev script's lowest floor
    same = trainer.scored_candidates(STREAM, VECTORS, lambda f, q: np.zeros(len(f)),
                                     lowest=min(dev_cv.FLOORS))
    assert [[(j, c) for j, c, *_ in row] for row in cands] == \
        [[(j, c) for j, c, *_ in row] for row in same]


def test_the_trainer_scores_every_row_with_its_ensemble(modules: tuple[Any, Any]) -> None:
    trainer, _ = modules
    cands = trainer.candidates(STREAM, VECTORS, Constant(0.7))
    assert sum(map(len, cands)) > 0
    assert all(p == pytest.approx(0.7) for row in cands for _, _, p, _ in row)


def test_operating_points_respect_the_margin_the_floor_and_the_adversarial_rate(
        modules: tuple[Any, Any]) -> None:
    trainer, _ = modules
    curve = [  # B is the best under 1 % wrong, but serves 2 % of the adversarial negatives
        {"floor": 0.90, "cutoff": 0.5, "recall": 0.60, "false_hit_rate": 0.040, "adv": 0.0},
        {"floor": 0.90, "cutoff": 0.7, "recall": 0.40, "false_hit_rate": 0.009, "adv": 0.02},
        {"floor": 0.95, "cutoff": 0.5, "recall": 0.30, "false_hit_rate": 0.004, "adv": 0.0},
        {"floor": 0.95, "cutoff": 0.7, "recall": 0.20, "false_hit_rate": 0.001, "adv": 0.0},
    ]
    points = trainer.operating_points(curve, 10_000, lambda p: p["adv"], floors=(0.90, 0.95))
    got = [(p["target_error_rate"], p["cosine_floor"], p["cutoff"]) for p in points]
    assert got == [
        (0.005, 0.95, 0.5),  # the margin: 0.5 SD under 0.5 % on 10,000 requests is 0.465 %
        (0.01, 0.95, 0.5),   # B is left out: too many adversarial negatives served
        (0.02, 0.90, 0.7), (0.02, 0.95, 0.5),  # looser targets may trade them for recall
        (0.03, 0.90, 0.7), (0.03, 0.95, 0.5),
        (0.05, 0.90, 0.5), (0.05, 0.95, 0.5),
    ]
    assert points[1]["cv_recall"] == 0.3 and points[1]["cv_false_hit_rate"] == 0.004
