"""Fit the hit verifier on the training split; choose its operating points on the dev split.

    python -m training.train_verifier --model vc-minilm-l6-pairs [--data ../shared/data]

Writes ``src/vectorcache/decision/verifier-<model>.json`` (the server reads it when that
embedding model is selected) and prints the dev figures to quote.

* **Fit** (training split only): every labelled pair whose cosine under the shipped model is at
  least ``REGION_FLOOR`` (below it nothing hits, so the verifier need not learn it), with the
  query-side features of ``decision.features.pair_features``; the mean log-odds of ``SEEDS``
  boosted-tree fits with different subsample seeds (one fit's chosen point moved with three
  rows; the mean is steadier). It exports as one model: the server scores it in plain Python.
* **Select** (dev split): each dev stream is replayed (insert on a miss) over a grid of
  (cosine floor, probability cutoff), the guards vetoing outright, every query scored by the
  model that never saw dev. For each target wrong-answer rate, the point with the most QQP
  recall whose error stays ``MARGIN_SD`` sampling SDs under the target, and that serves no
  larger a share of the dev adversarial negatives (PAWS, blindspots) than the target.
* The earlier verifier was fitted on dev itself (grouped 5-fold CV): its dev CV said 26.9 %
  at 1 %, held-out 20.9 %. Fitting on the training split leaves dev as an honest check of the
  fit; only the operating points are chosen on it.

Needs the training extra (scikit-learn); the server never imports this.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from training.data import DEFAULT_DATA, load_jsonl, load_train_pairs
from vectorcache.decision import analysis
from vectorcache.decision.features import FEATURE_NAMES, pair_features
from vectorcache.decision.guards import VETOES, guard_flags
from vectorcache.decision.verifier import OperatingPoint, Verifier, choose_point
from vectorcache.settings import Settings

analyse = lru_cache(maxsize=None)(analysis.analyse)  # the package does not memoise
REGION_FLOOR = 0.70
TOP_K = 8
#: the trained model's cosines sit high (97-99 % of dev duplicates above 0.85), so the grid
#: reaches up to 0.985 in small steps
FLOORS = (0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98, 0.985)
CUTOFFS = tuple(round(x, 3) for x in np.arange(0.30, 0.951, 0.025))
TARGETS = (0.005, 0.01, 0.02, 0.03, 0.05)
DEFAULT_TARGET = 0.01
MARGIN_SD = 0.5
ADVERSARIAL_SOURCES = ("paws_wiki", "blindspots300")
#: the guards that veto outright: the registry's (``decision.guards``), never a copy
GUARDS = VETOES
GBM = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8,
       "random_state": 0}
SEEDS = 5
ROOT = Path(__file__).resolve().parents[1]
#: one verifier per embedding model (its cosine is a feature): ``verifier-<model>.json``; the
#: stock model's ``verifier.json`` is the earlier dev-fitted one (research/dev_cv_verifier.py)
DECISION = ROOT / "src" / "vectorcache" / "decision"
VECTORS = ROOT / ".vectorcache" / "training"


def embed_all(texts: list[str], model: str) -> dict[str, np.ndarray]:
    """The shipped model's vectors of ``texts`` (cached by model file and texts)."""
    from vectorcache.embeddings.onnx import OnnxEncoder
    from vectorcache.embeddings.shipped import shipped_model

    spec = shipped_model(model)
    digest = hashlib.sha256(spec.onnx_file.read_bytes())
    for t in texts:
        digest.update(t.encode() + b"\n")
    path = VECTORS / f"vectors-{model}-{digest.hexdigest()[:12]}.npy"
    if path.exists():
        return dict(zip(texts, np.load(path), strict=True))
    encoder = OnnxEncoder(spec)
    try:
        chunks = [texts[i:i + 512] for i in range(0, len(texts), 512)]
        with ThreadPoolExecutor(encoder.parallel_calls) as pool:  # one text per call (int8)
            vectors = np.concatenate(list(pool.map(encoder.encode, chunks)))
    finally:
        encoder.close()
    VECTORS.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return dict(zip(texts, vectors, strict=True))


def features(query: str, stored: str, cosine: float) -> list[float]:
    return pair_features(cosine, analyse(query), analyse(stored))


class SeedEnsemble:
    """Boosted trees fitted with different subsample seeds, scored as their mean log-odds."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logit = np.mean([m.decision_function(X) for m in self.models], axis=0)
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.column_stack([1.0 - p, p])


def fit(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
        seeds: int = SEEDS) -> SeedEnsemble:
    from sklearn.ensemble import GradientBoostingClassifier

    return SeedEnsemble([
        GradientBoostingClassifier(**{**GBM, "random_state": GBM["random_state"] + k})
        .fit(X, y, sample_weight=weights) for k in range(seeds)])


def export(ensemble: SeedEnsemble) -> dict[str, Any]:
    trees, inits = [], []
    for model in ensemble.models:
        prior = model.init_.class_prior_[1]
        inits.append(float(np.log(prior / (1 - prior))))
        for est in model.estimators_[:, 0]:
            t = est.tree_
            trees.append({
                "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                "feature": [max(int(f), 0) for f in t.feature],
                "threshold": [round(float(v), 6) for v in t.threshold],
                "value": [round(float(v), 6) for v in t.value[:, 0, 0]],
            })
    return {"features": list(FEATURE_NAMES), "init": float(np.mean(inits)),
            "learning_rate": ensemble.models[0].learning_rate / len(ensemble.models),
            "trees": trees}


# per query: the earlier prompts above the lowest floor, nearest first, as
# (index, cosine, probability, guard flags)
Cands = list[list[tuple[int, float, float, dict[str, bool]]]]


#: P(duplicate) of each candidate row, from its features and the index of its query
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def scored_candidates(stream: list[dict[str, Any]], P: np.ndarray, score: Scorer,
                      depth: int = 48, lowest: float = min(FLOORS)) -> Cands:
    """Each query's earlier prompts at or above ``lowest`` (at most ``depth``, nearest first),
    with the probability ``score`` gives and the guard flags."""
    rows: list[tuple[int, int, float]] = []
    for i in range(1, len(stream)):
        sims = P[:i] @ P[i]
        for j in np.argsort(-sims)[:depth]:
            if sims[j] < lowest:
                break
            rows.append((i, int(j), float(sims[j])))
    out: Cands = [[] for _ in stream]
    if not rows:
        return out
    feats = np.array([features(stream[i]["prompt"], stream[j]["prompt"], c) for i, j, c in rows])
    probs = score(feats, np.array([i for i, _, _ in rows]))
    for (i, j, c), p in zip(rows, probs, strict=True):
        flags = guard_flags(analyse(stream[i]["prompt"]), analyse(stream[j]["prompt"]))
        out[i].append((j, c, float(p), flags))
    return out


def candidates(stream: list[dict[str, Any]], P: np.ndarray, model: SeedEnsemble,
               depth: int = 48) -> Cands:
    """``scored_candidates`` with one model for every query."""
    return scored_candidates(stream, P, lambda feats, _: model.predict_proba(feats)[:, 1], depth)


def replay(stream: list[dict[str, Any]], cands: Cands, floor: float, cutoff: float,
           vetoes: Sequence[str], static: bool = False) -> dict[str, float]:
    stored: set[int] = set()
    hits = wrong = correct = 0
    expected = sum(bool(r["expected_hit"]) for r in stream)
    for i, r in enumerate(stream):
        choice, best, seen = None, -1.0, 0
        for j, cos, p, flags in cands[i]:
            if cos < floor or seen >= TOP_K:
                break
            if j not in stored:
                continue
            seen += 1
            if static:
                choice, best = j, 1.0
                break
            if any(flags[g] for g in vetoes):
                continue
            if p > best:
                best, choice = p, j
        if best < cutoff:
            choice = None
        if choice is None:
            stored.add(i)
            continue
        hits += 1
        correct += stream[choice]["cluster"] == r["cluster"]
        wrong += stream[choice]["cluster"] != r["cluster"]
    n = len(stream)
    return {"hit_rate": hits / n, "false_hit_rate": wrong / n,
            "hit_precision": correct / hits if hits else 1.0,
            "recall": correct / expected if expected else 1.0}


def best_at(curve: list[dict[str, float]], limit: float) -> dict[str, float] | None:
    ok = [p for p in curve if p["false_hit_rate"] <= limit]
    return max(ok, key=lambda p: (p["recall"], -p["false_hit_rate"])) if ok else None


def operating_points(curve: list[dict[str, float]], n: int,
                     adversarial_rate: Callable[[dict[str, float]], float],
                     floors: Sequence[float] = FLOORS) -> list[dict[str, Any]]:
    """The verifier's table: per target, the best point of ``curve`` (a stream of ``n`` requests)
    for each lowest floor, its error ``MARGIN_SD`` sampling SDs under the target; a point for a
    target up to the default may also serve no larger a share of the adversarial negatives than
    its target. A project's similarity_threshold caps the floor from below, so the server picks
    the best point whose floor is at least it (``verifier.choose_point``)."""
    points: list[dict[str, Any]] = []
    for target in TARGETS:
        limit = target - MARGIN_SD * (target / n) ** 0.5
        for lowest in floors:
            p = best_at([q for q in curve if q["floor"] >= lowest and (
                target > DEFAULT_TARGET or adversarial_rate(q) <= target)], limit)
            row = p and {"target_error_rate": target, "cosine_floor": p["floor"],
                         "cutoff": p["cutoff"],
                         "cv_false_hit_rate": round(p["false_hit_rate"], 4),
                         "cv_recall": round(p["recall"], 4)}
            if row and row not in points:
                points.append(row)
    return points


def train_rows(pairs: list[dict[str, Any]], vec: dict[str, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
    X, y = [], []
    for r in pairs:
        cos = float(vec[r["a"]] @ vec[r["b"]])
        if cos >= REGION_FLOOR:
            X.append(features(r["b"], r["a"], cos))
            y.append(int(r["same"]))
    return np.array(X), np.array(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default=Settings().embedding_model)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: src/vectorcache/decision/verifier-<model>.json")
    ap.add_argument("--report", type=Path, default=VECTORS / "verifier_report.json")
    args = ap.parse_args()
    args.out = args.out or DECISION / f"verifier-{args.model}.json"
    t0 = time.time()
    train = load_train_pairs(args.data)
    dev_pairs = [r for f in sorted(args.data.glob("pairs_*.jsonl")) for r in load_jsonl(f)]
    streams = {f.name: load_jsonl(f) for f in sorted(args.data.glob("stream_*.jsonl"))}
    texts = {t for r in train for t in (r["a"], r["b"])}
    texts |= {t for r in dev_pairs for t in (r["a"], r["b"])}
    texts |= {r["prompt"] for s in streams.values() for r in s}
    vec = embed_all(sorted(texts), args.model)
    print(f"embedded {len(texts)} texts in {time.time() - t0:.0f}s", file=sys.stderr)

    X, y = train_rows(train, vec)
    print(f"{len(y)} training rows ({int(y.sum())} positive) at cosine >= {REGION_FLOOR}",
          file=sys.stderr)
    model = fit(X, y)
    print(f"fitted in {time.time() - t0:.0f}s", file=sys.stderr)

    vetoes = list(GUARDS)
    curves: dict[str, Any] = {}
    for name, stream in streams.items():
        P = np.stack([vec[r["prompt"]] for r in stream])
        cands = candidates(stream, P, model)
        curves[name] = {
            "verified": [{"floor": fl, "cutoff": c, **replay(stream, cands, fl, c, vetoes)}
                         for fl in FLOORS for c in CUTOFFS],
            "static": [{"floor": float(th), **replay(stream, cands, float(th), 0.5, (), True)}
                       for th in np.arange(0.75, 0.9951, 0.0025).round(4)],
        }
    qqp = next(n for n in streams if "qqp" in n)

    # dev pairs, scored by the model that never saw them
    pair_X = np.array([features(r["b"], r["a"], float(vec[r["a"]] @ vec[r["b"]]))
                       for r in dev_pairs])
    pair_p = model.predict_proba(pair_X)[:, 1]
    pair_flags = [guard_flags(analyse(r["b"]), analyse(r["a"])) for r in dev_pairs]
    adversarial = [k for k, r in enumerate(dev_pairs)
                   if r["source"] in ADVERSARIAL_SOURCES and not r["same"]]

    def served(k: int, point: dict[str, float]) -> bool:
        return bool(pair_X[k, 0] >= point["floor"] and pair_p[k] >= point["cutoff"]
                    and not any(pair_flags[k][g] for g in vetoes))

    def adversarial_rate(point: dict[str, float]) -> float:
        return sum(served(k, point) for k in adversarial) / max(1, len(adversarial))

    points = operating_points(curves[qqp]["verified"], len(streams[qqp]), adversarial_rate)
    threshold = Settings().default_similarity_threshold
    table = [OperatingPoint(**p) for p in points]
    defaults = [asdict(choose_point(table, t, threshold)) for t in TARGETS]

    pair_report: dict[str, Any] = {}
    for d in defaults:
        point = {"floor": d["cosine_floor"], "cutoff": d["cutoff"]}
        rows: dict[str, list[tuple[int, int]]] = {}
        for k, r in enumerate(dev_pairs):
            hit = r["a"].strip() == r["b"].strip() or served(k, point)
            key = (f'{r["source"]}/{r["category"]}' if r["source"] == "blindspots300"
                   else r["source"])
            rows.setdefault(key, []).append((int(r["same"]), int(hit)))
        pair_report[str(d["target_error_rate"])] = {
            key: {"n": len(v),
                  "recall": _safe(sum(s and h for s, h in v), sum(s for s, _ in v)),
                  "wrong_hit": _safe(sum(h and not s for s, h in v), sum(not s for s, _ in v))}
            for key, v in sorted(rows.items())}

    spec = export(model)
    spec.update({
        "version": hashlib.sha256(json.dumps(spec["trees"]).encode()).hexdigest()[:12],
        "trained_on": f"training split (pairs_train, {len(y)} pairs at cosine >= "
                      f"{REGION_FLOOR} under {args.model}); operating points chosen on the dev "
                      f"streams; mean log-odds of {SEEDS} sklearn GradientBoosting {GBM}",
        "embedding_model": args.model,
        "vetoes": vetoes, "operating_points": points,
        "default_target_error_rate": DEFAULT_TARGET,
    })
    check = Verifier(spec)  # the plain-Python scorer must agree with sklearn
    ref = model.predict_proba(X[:500])[:, 1]
    ours = np.array([check.probability(x) for x in X[:500].tolist()])
    assert np.abs(ref - ours).max() < 1e-4, np.abs(ref - ours).max()
    args.out.write_text(json.dumps(spec, separators=(",", ":")) + "\n", encoding="utf-8")
    static_at = {name: best_at(c["static"], DEFAULT_TARGET) for name, c in curves.items()}
    report = {"model": args.model, "rows": len(y), "operating_points": points,
              "default_threshold_points": defaults, "pairs": pair_report,
              "static_best_at_1pct": static_at, "curves": curves}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps({"operating_points": defaults, "static_best_at_1pct": static_at,
                      "pairs_at_default": pair_report[str(DEFAULT_TARGET)]}, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), report {args.report}, "
          f"{time.time() - t0:.0f}s", file=sys.stderr)


def _safe(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


if __name__ == "__main__":
    main()
