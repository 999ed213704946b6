"""Each guard re-measured with the trained model: what removing it changes (issue 18, item 5).

    python -m research.guard_ablation [--model vc-minilm-l6-pairs]

The verifier is fitted on the training split exactly as ``training.train_verifier`` fits it
(same features, same region, same seeds). Then, for every guard in the registry's ``VETOES``:

* the dev streams are replayed (insert on a miss, top 8 stored neighbours above the floor) at
  the shipped default point (the verifier file's point for the 1 % target) with all vetoes, and
  with all but that guard: QQP and GPTCache-mock recall and wrong-answer rate, both ways;
* the dev pairs are scored at the same point: how many pairs the guard alone vetoes, and how
  many of the adversarial negatives (PAWS, blindspots' negation / entity / number swaps) would
  be served without it.

A guard that changes neither the streams nor any adversarial set could go; one that the
adversarial sets need stays whatever the streams say (QQP's labels under-count the wrong answers
the guards catch). The hand-written probes (``tests/data/decision_probes.jsonl``, pairs the suite
checks never hit) are scored the same way, with the shipped verifier file: how many each guard
alone keeps from being served. Writes ``.vectorcache/training/guard_ablation-<model>.json``
(``--probes-only``: the probes part alone, printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.data import DEFAULT_DATA, load_jsonl, load_train_pairs
from training.train_verifier import (
    DECISION,
    GUARDS,
    VECTORS,
    analyse,
    candidates,
    embed_all,
    features,
    fit,
    guard_flags,
    replay,
    train_rows,
)


def default_point(model: str) -> dict[str, float]:
    spec = json.loads((DECISION / f"verifier-{model}.json").read_text("utf-8"))
    target = spec["default_target_error_rate"]
    rows = [p for p in spec["operating_points"] if p["target_error_rate"] == target]
    best = max(rows, key=lambda p: p["cv_recall"])
    return {"floor": best["cosine_floor"], "cutoff": best["cutoff"]}


PROBES = Path(__file__).resolve().parents[1] / "tests" / "data" / "decision_probes.jsonl"


def probes_needing(model: str, point: dict[str, float]) -> dict[str, Any]:
    """Per guard: the probes the verifier alone would serve at ``point`` that only it vetoes."""
    from vectorcache.decision.verifier import Verifier

    spec = json.loads((DECISION / f"verifier-{model}.json").read_text("utf-8"))
    verifier = Verifier(spec)
    rows = [r for r in load_jsonl(PROBES) if not r["same"]]
    vec = embed_all(sorted({t for r in rows for t in (r["a"], r["b"])}), model)
    served: list[dict[str, Any]] = []
    only = {g: 0 for g in GUARDS}
    for r in rows:
        cos = float(vec[r["a"]] @ vec[r["b"]])
        p = verifier.probability(features(r["b"], r["a"], cos))
        if cos < point["floor"] or p < point["cutoff"]:
            continue
        flags = guard_flags(analyse(r["b"]), analyse(r["a"]))
        fired = [g for g in GUARDS if flags[g]]
        served.append({"a": r["a"], "b": r["b"], "cosine": round(cos, 4),
                       "probability": round(p, 4), "vetoed_by": fired})
        if len(fired) == 1:
            only[fired[0]] += 1
    return {"negative_probes": len(rows), "verifier_alone_would_serve": len(served),
            "served_with_guards": sum(not s["vetoed_by"] for s in served),
            "vetoed_by_one_guard_only": only, "rows": served}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default="vc-minilm-l6-pairs")
    ap.add_argument("--probes-only", action="store_true")
    args = ap.parse_args()
    if args.probes_only:
        found = probes_needing(args.model, default_point(args.model))
        print(json.dumps({k: v for k, v in found.items() if k != "rows"}, indent=1))
        return
    t0 = time.time()
    train = load_train_pairs(args.data)
    dev_pairs = load_jsonl(args.data / "pairs_dev.jsonl")
    streams = {f.name: load_jsonl(f) for f in sorted(args.data.glob("stream_*.jsonl"))}
    texts = {t for r in train for t in (r["a"], r["b"])}
    texts |= {t for r in dev_pairs for t in (r["a"], r["b"])}
    texts |= {r["prompt"] for s in streams.values() for r in s}
    vec = embed_all(sorted(texts), args.model)
    X, y = train_rows(train, vec)
    model = fit(X, y)
    print(f"embedded and fitted {time.time() - t0:.0f}s", file=sys.stderr)
    point = default_point(args.model)
    vetoes = list(GUARDS)

    cands = {name: candidates(s, np.stack([vec[r["prompt"]] for r in s]), model)
             for name, s in streams.items()}
    cos = np.array([float(vec[r["a"]] @ vec[r["b"]]) for r in dev_pairs])
    prob = model.predict_proba(np.array([features(r["b"], r["a"], c)
                                         for r, c in zip(dev_pairs, cos, strict=True)]))[:, 1]
    flags = [guard_flags(analyse(r["b"]), analyse(r["a"])) for r in dev_pairs]
    passes = (cos >= point["floor"]) & (prob >= point["cutoff"])

    def pair_key(r: dict[str, Any]) -> str:
        return (f'{r["source"]}/{r["category"]}' if r["source"] == "blindspots300"
                else r["source"])

    def served_negatives(keep: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, r in enumerate(dev_pairs):
            if r["same"] or not passes[k] or any(flags[k][g] for g in keep):
                continue
            out[pair_key(r)] = out.get(pair_key(r), 0) + 1
        return out

    def streams_at(keep: list[str]) -> dict[str, dict[str, float]]:
        return {name: {k: round(v, 4) for k, v in replay(
            s, cands[name], point["floor"], point["cutoff"], keep).items()}
            for name, s in streams.items()}

    negatives = {pair_key(r): 0 for r in dev_pairs if not r["same"]}
    for r in dev_pairs:
        if not r["same"]:
            negatives[pair_key(r)] += 1
    report: dict[str, Any] = {"model": args.model, "point": point, "negatives": negatives,
                              "all_guards": {"streams": streams_at(vetoes),
                                             "served_negatives": served_negatives(vetoes)}}
    for g in vetoes:
        keep = [v for v in vetoes if v != g]
        alone = sum(1 for k, f in enumerate(flags) if passes[k] and f[g]
                    and not any(f[v] for v in keep))
        alone_pos = sum(1 for k, f in enumerate(flags) if passes[k] and f[g] and dev_pairs[k]["same"]
                        and not any(f[v] for v in keep))
        report[g] = {"streams": streams_at(keep), "served_negatives": served_negatives(keep),
                     "dev_pairs_vetoed_by_it_alone": alone,
                     "of_which_duplicates": alone_pos}
        print(g, json.dumps(report[g]), file=sys.stderr)
    report["probes"] = probes_needing(args.model, point)
    out = VECTORS / f"guard_ablation-{args.model}.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"{time.time() - t0:.0f}s; wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
