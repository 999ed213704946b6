"""Which rows should the trained model's verifier learn from? Dev grouped CV of three recipes.

    python -m research.trained_verifier_cv [--model vc-minilm-l6-pairs] [--seeds 1]
                                           [--dev-weight 1 3 10]

The shipped trained verifier is fitted on the training split only (QQP, PAWS-Wiki, MRPC: no
chat-style text), and serves 3 % of dev's chat-style paraphrases at the default point. Here the
dev split's rows (its pairs and its replay streams' candidates, as ``research.dev_cv_verifier``
builds them) join the training rows, in five folds grouped by the pair graph's component:

* ``train``: training rows only (what ships today; the same model for every fold);
* ``train+dev xW``: training rows and the other four folds' dev rows, dev rows weighted W;
* ``dev``: the other four folds' dev rows only (the stock model's recipe).

Every dev stream query and dev pair is scored by the fold model that never saw its group; the
operating point for the 1 % target is chosen as ``training.train_verifier`` chooses it (most QQP
recall half a sampling SD under the target, adversarial dev negatives no more than the target,
floor at least the default similarity threshold), and again with every stream's wrong-answer
rate under the target (``<target>/every-stream``: the chat-style stream constrains it too).
Printed: QQP and GPTCache-mock stream recall and wrong-answer rate at that point, and the dev
pairs per source and category. Writes
``.vectorcache/training/trained_verifier_cv-<model>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from research.dev_cv_verifier import FOLDS, DevSet, build_rows, candidates, fold_of
from training.data import DEFAULT_DATA, load_jsonl, load_train_pairs
from training.train_verifier import (
    ADVERSARIAL_SOURCES,
    CUTOFFS,
    DEFAULT_TARGET,
    FLOORS,
    GUARDS,
    MARGIN_SD,
    VECTORS,
    SeedEnsemble,
    analyse,
    embed_all,
    fit,
    guard_flags,
    replay,
    train_rows,
)
from vectorcache.settings import Settings


def with_second_cosine(second: dict[str, np.ndarray]) -> None:
    """Every verifier row (training rows, dev rows, stream candidates) gains the pair's cosine
    under a second model: the feature function the trainer and the dev CV both call is
    swapped for one that appends it (research only; nothing ships this way)."""
    import research.dev_cv_verifier as dev_cv
    import training.train_verifier as trainer

    plain = trainer.features

    def more(query: str, stored: str, cosine: float) -> list[float]:
        return [*plain(query, stored, cosine), float(second[query] @ second[stored])]

    trainer.features = dev_cv.features = more  # type: ignore[assignment]


def evaluate(models: list[SeedEnsemble], dev: DevSet, pair_X: np.ndarray,
             pair_folds: np.ndarray) -> dict[str, Any]:
    def score(X: np.ndarray, folds: np.ndarray) -> np.ndarray:
        p = np.zeros(len(X))
        for f in range(FOLDS):
            if (folds == f).any():
                p[folds == f] = models[f].predict_proba(X[folds == f])[:, 1]
        return p

    pair_p = score(pair_X, pair_folds)
    flags = [guard_flags(analyse(r["b"]), analyse(r["a"])) for r in dev.pairs]
    vetoed = np.array([any(f[g] for g in GUARDS) for f in flags])
    adversarial = np.array([r["source"] in ADVERSARIAL_SOURCES and not r["same"]
                            for r in dev.pairs])
    exact = np.array([r["a"].strip() == r["b"].strip() for r in dev.pairs])

    def served(point: dict[str, float]) -> np.ndarray:
        return exact | ((pair_X[:, 0] >= point["floor"]) & (pair_p >= point["cutoff"])
                        & ~vetoed)

    curves = {}
    for name, stream in dev.streams.items():
        P = np.stack([dev.vec[r["prompt"]] for r in stream])
        fq = [fold_of(dev.group(r["prompt"], r["cluster"])) for r in stream]
        cands = candidates(stream, P, models, fq)
        curves[name] = [{"floor": fl, "cutoff": c, **replay(stream, cands, fl, c, GUARDS)}
                        for fl in FLOORS for c in CUTOFFS]
    qqp = next(n for n in dev.streams if "qqp" in n)
    threshold = Settings().default_similarity_threshold

    def limit(target: float, name: str) -> float:
        return target - MARGIN_SD * (target / len(dev.streams[name])) ** 0.5

    def at(name: str, point: dict[str, float]) -> dict[str, float]:
        return next(q for q in curves[name] if q["floor"] == point["floor"]
                    and q["cutoff"] == point["cutoff"])

    def report(best: dict[str, float]) -> dict[str, Any]:
        point = {"floor": best["floor"], "cutoff": best["cutoff"]}
        hit = served(point)
        per: dict[str, list[tuple[bool, bool]]] = {}
        for r, h in zip(dev.pairs, hit, strict=True):
            key = (f'{r["source"]}/{r["category"]}' if r["source"] == "blindspots300"
                   else r["source"])
            per.setdefault(key, []).append((bool(r["same"]), bool(h)))
        return {
            "point": point,
            "streams": {k: {m: round(at(k, point)[m], 4) for m in ("recall", "false_hit_rate")}
                        for k in curves},
            "pairs": {k: {"n": len(v),
                          "recall": _share(sum(s and h for s, h in v), sum(s for s, _ in v)),
                          "wrong": _share(sum(h and not s for s, h in v),
                                          sum(not s for s, _ in v))}
                      for k, v in sorted(per.items())},
        }

    out: dict[str, Any] = {}
    for target in (0.01, 0.02, 0.05):
        ok = [q for q in curves[qqp] if q["false_hit_rate"] <= limit(target, qqp)
              and q["floor"] >= threshold - 1e-9
              and (target > DEFAULT_TARGET or served(q)[adversarial].mean() <= target)]
        # the trainer's rule (QQP's wrong rate), and the same rule with every stream's wrong
        # rate under the target (the chat-style stream's too: "<target>/every-stream")
        everywhere = [q for q in ok if all(at(name, q)["false_hit_rate"] <= limit(target, name)
                                           for name in curves)]
        for key, rows in ((str(target), ok), (f"{target}/every-stream", everywhere)):
            out[key] = (report(max(rows, key=lambda q: (q["recall"], -q["false_hit_rate"])))
                        if rows else None)
    return out


def _share(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="vc-minilm-l6-pairs")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--dev-weight", type=float, nargs="*", default=[1.0, 3.0, 10.0])
    ap.add_argument("--recipes", nargs="*", default=["train", "train+dev", "dev"])
    ap.add_argument("--with-cosine-of", default=None, metavar="MODEL",
                    help="one more verifier feature: the pair's cosine under MODEL (e.g. the "
                         "stock all-minilm-l6-v2), as a server would get from a second encoder")
    args = ap.parse_args()
    t0 = time.time()
    train = load_train_pairs(DEFAULT_DATA)
    pairs = [r for f in sorted(DEFAULT_DATA.glob("pairs_*.jsonl")) for r in load_jsonl(f)]
    streams = {f.name: load_jsonl(f) for f in sorted(DEFAULT_DATA.glob("stream_*.jsonl"))}
    texts = {t for r in train for t in (r["a"], r["b"])}
    texts |= {t for r in pairs for t in (r["a"], r["b"])}
    texts |= {r["prompt"] for s in streams.values() for r in s}
    vec = embed_all(sorted(texts), args.model)
    if args.with_cosine_of:
        second = embed_all(sorted(texts), args.with_cosine_of)
        with_second_cosine(second)
    dev = DevSet(pairs, streams, vec)
    Xt, yt = train_rows(train, vec)
    Xd, yd, folds, _ = build_rows(dev)
    n_pairs = len(pairs)
    pair_X, pair_folds = Xd[:n_pairs], folds[:n_pairs]
    print(f"{len(yt)} training rows, {len(yd)} dev rows, {time.time() - t0:.0f}s",
          file=sys.stderr)

    results: dict[str, Any] = {}
    recipes: list[tuple[str, float]] = []
    for r in args.recipes:
        if r == "train+dev":
            recipes += [(f"train+dev x{w:g}", w) for w in args.dev_weight]
        else:
            recipes.append((r, 1.0))
    for name, w in recipes:
        if name == "train":
            one = fit(Xt, yt, np.ones(len(yt)), args.seeds)
            models = [one] * FOLDS
        else:
            models = []
            for f in range(FOLDS):
                keep = folds != f
                if name == "dev":
                    X, y, wt = Xd[keep], yd[keep], np.ones(int(keep.sum()))
                else:
                    X = np.vstack([Xt, Xd[keep]])
                    y = np.concatenate([yt, yd[keep]])
                    wt = np.concatenate([np.ones(len(yt)), np.full(int(keep.sum()), w)])
                models.append(fit(X, y, wt, args.seeds))
        results[name] = evaluate(models, dev, pair_X, pair_folds)
        print(f"--- {name} ({time.time() - t0:.0f}s)")
        for key in ("0.01", "0.01/every-stream"):
            print(key, json.dumps(results[name][key], indent=None))
    tag = f"+{args.with_cosine_of}" if args.with_cosine_of else ""
    path = VECTORS / f"trained_verifier_cv-{args.model}{tag}.json"
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
