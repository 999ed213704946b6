"""A digest of what the decision package's lexical side computes, to check that a refactor
changed nothing.

    python -m research.decision_digest [--data ../shared/data]

For every pair of ``pairs_dev.jsonl`` and ``tests/data/decision_probes.jsonl``, in both
orders: the analysed prompts (``analyse``), ``guard_flags`` (names, order and values),
``pair_features`` at a fixed cosine, and ``respelt_text`` of each side. Prints one SHA-256 over
all of it and how many pairs it read; run it before and after a change that should not move
behaviour, and compare. Reads dev texts only to compare the code with itself, never to tune.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from training.data import DEFAULT_DATA, load_jsonl
from vectorcache.decision.analysis import analyse
from vectorcache.decision.features import pair_features
from vectorcache.decision.guards import guard_flags
from vectorcache.decision.respelling import respelt_text

ROOT = Path(__file__).resolve().parents[1]
PROBES = ROOT / "tests" / "data" / "decision_probes.jsonl"
COSINE = 0.9


def canonical(x: Any) -> str:
    """``x``'s fields in order, sets sorted (a set's repr depends on the hash seed)."""
    return repr([(f.name, sorted(v) if isinstance(v := getattr(x, f.name), frozenset) else v)
                 for f in fields(x)])


def digest(pairs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for a_text, b_text in pairs:
        a, b = analyse(a_text), analyse(b_text)
        for x, y in ((a, b), (b, a)):
            h.update(canonical(x).encode())
            h.update(repr(list(guard_flags(x, y).items())).encode())
            h.update(repr(pair_features(COSINE, x, y)).encode())
        h.update(repr((respelt_text(a_text), respelt_text(b_text))).encode())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    rows = load_jsonl(args.data / "pairs_dev.jsonl") + load_jsonl(PROBES)
    pairs = [(r["a"], r["b"]) for r in rows]
    print(json.dumps({"pairs": len(pairs), "sha256": digest(pairs)}))


if __name__ == "__main__":
    main()
