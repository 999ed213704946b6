"""Research: do per-entry thresholds learnt online from the provider's answers (vCache's idea) add recall?

    python -m research.confirm [--salts "" a b c d e]

The rule measured, on the dev QQP replay stream with every query scored out of fold (rows,
folds, guards and candidates from the dev-CV trainer (``research/dev_cv_verifier.py``)): a candidate in a band below the
operating point (cosine from ``band floor``, verifier probability from ``band cutoff``, guards
passed) is not served until the provider has *confirmed* its entry: a miss near it (a probe,
which costs no extra call, since it is a miss anyway) whose fresh answer was the entry's own
answer. The entry then serves band candidates from the cosine of that probe up. In the replay,
"the same answer" is "the same cluster": a provider that answers duplicates identically, the
best case for the idea. A wrong probe teaches nothing (with real providers, answers to one
question differ too), so no error is learnt from it.

Prints, per fold assignment (``--salts``: the group hash is salted, so groups fall into other
folds), CV recall at 0.5 / 1 / 2 % wrong answers per request, as the dev-CV trainer (``research/dev_cv_verifier.py``)
picks points (the most recall whose error stays half a sampling SD under the target): without
the band, with a band from 0.85 (the default ``similarity_threshold``, which no band may go
under), and with a band from 0.80 (a project that lowers its threshold).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from research import dev_cv_verifier as tv
from vectorcache.settings import Settings

BAND_CUTOFFS = (0.3, 0.4, 0.5, 0.6, 0.7)
TARGETS = (0.005, 0.01, 0.02)


def replay_confirmed(stream: list[dict[str, Any]], cands: tv.Cands, floor: float, cutoff: float,
                     band: tuple[float, float]) -> dict[str, float]:
    """``tv.replay`` with the band: the point's own hits first, else the band's best candidate
    is served if its entry was confirmed at a cosine at most this one, else probed."""
    stored: set[int] = set()
    confirmed: dict[int, float] = {}
    wrong = correct = 0
    for i, r in enumerate(stream):
        choice, best, seen = None, -1.0, 0
        cand, cand_p, cand_cos = None, -1.0, 0.0
        for j, cos, p, flags in cands[i]:
            if cos < min(floor, band[0]) or seen >= tv.TOP_K:
                break
            if j not in stored:
                continue
            seen += 1
            if any(flags[g] for g in tv.GUARDS):
                continue
            if cos >= floor and p > best:
                best, choice = p, j
            if p > cand_p:
                cand, cand_p, cand_cos = j, p, cos
        if best < cutoff:
            choice = None
        if choice is None and cand is not None and cand_p >= band[1]:
            if cand_cos >= confirmed.get(cand, 2.0):
                choice = cand
            elif stream[cand]["cluster"] == r["cluster"]:  # the probe's answer: the same
                confirmed[cand] = min(confirmed.get(cand, 2.0), cand_cos)
        if choice is None:
            stored.add(i)
        elif stream[choice]["cluster"] == r["cluster"]:
            correct += 1
        else:
            wrong += 1
    expected = sum(bool(r["expected_hit"]) for r in stream)
    return {"false_hit_rate": wrong / len(stream), "recall": correct / expected}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vc_dev_embeddings.npz"))
    ap.add_argument("--salts", nargs="+", default=["", "a", "b", "c", "d", "e"])
    args = ap.parse_args()
    ds = tv.Dataset(args.data, args.cache, "onnx", Settings().embedding_model)
    name = next(n for n in ds.streams if "qqp" in n)
    stream = ds.streams[name]
    vectors = np.stack([ds.vec[r["prompt"]] for r in stream])
    gains: dict[str, list[float]] = {}
    for salt in args.salts:
        def salted(group: str, salt: str = salt) -> int:
            return int(hashlib.sha256((salt + group).encode()).hexdigest(), 16) % tv.FOLDS

        tv.fold_of = salted
        X, y, folds, _ = tv.build_rows(ds)
        models = [tv.fit(X[folds != f], y[folds != f]) for f in range(tv.FOLDS)]
        cands = tv.candidates(stream, vectors, models,
                              [tv.fold_of(ds.group(r["prompt"], r["cluster"])) for r in stream])
        plain = [tv.replay(stream, cands, fl, c, tv.GUARDS) for fl in tv.FLOORS for c in tv.CUTOFFS]
        line = [f"salt {salt!r:4}"]
        for band_floor in (0.85, 0.80):
            banded = plain + [replay_confirmed(stream, cands, fl, c, (band_floor, bc))
                              for fl in tv.FLOORS for c in tv.CUTOFFS for bc in BAND_CUTOFFS
                              if band_floor < fl]
            for t in TARGETS:
                a, b = tv.best_point(plain, t, len(stream)), tv.best_point(banded, t, len(stream))
                assert a and b, f"no point meets {t:.1%}"
                gains.setdefault(f"band {band_floor} at {t:.1%}", []).append(
                    b["recall"] - a["recall"])
                line.append(f"band {band_floor} @{t:.1%}: {a['recall']:.1%} -> {b['recall']:.1%}"
                            f" ({b['false_hit_rate']:.2%} wrong)")
        print(" | ".join(line), flush=True)
    for key, values in gains.items():
        print(f"{key}: recall gain mean {np.mean(values):+.1%}, range "
              f"{min(values):+.1%} .. {max(values):+.1%}")


if __name__ == "__main__":
    main()
