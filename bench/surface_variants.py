"""Repeats in other clothes: is a prompt served its own answer when asked again with a greeting,
thanks, another case, no question mark, or doubled spaces?

    python bench/surface_variants.py [--n 150] [--write]

Takes ``--n`` prompts from the dev QQP stream (seeded sample), stores each, asks each variant
against it and counts how many the default rule serves (and why the rest miss), with the real
model and ``VerifiedDecider`` at the default operating point. These are the same question, so
every miss is recall lost for nothing; the static threshold at 0.85 is shown for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import _common

from vectorcache.decision import Candidate, DecisionPolicy, StaticThresholdDecider, VerifiedDecider
from vectorcache.embeddings import build_encoder
from vectorcache.settings import Settings

TITLE = "bench/surface_variants.py"
VARIANTS: dict[str, Callable[[str], str]] = {
    "greeting in front": lambda p: "Hi, " + p[0].lower() + p[1:],
    "'please answer:' in front": lambda p: "Please answer: " + p,
    "thanks at the end": lambda p: p + " Thanks!",
    "'can you tell me' in front": lambda p: "Can you tell me " + p[0].lower() + p[1:],
    "'I want to know' in front": lambda p: "I want to know " + p[0].lower() + p[1:],
    "'Question:' in front": lambda p: "Question: " + p,
    "lower case, no question mark": lambda p: p.rstrip("?").lower(),
    "doubled spaces": lambda p: p.replace(" ", "  "),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--write", action="store_true", help=f"update '## {TITLE}' in BENCHMARKS.md")
    args = ap.parse_args()
    prompts = [json.loads(line)["prompt"] for line in
               (_common.DATA / "stream_qqp_dev.jsonl").read_text("utf-8").splitlines() if line]
    prompts = random.Random(3).sample(prompts, args.n)
    encoder = build_encoder(Settings())
    verified, static = VerifiedDecider(), StaticThresholdDecider()
    stored = encoder.encode(prompts)
    rows = []
    for name, make in VARIANTS.items():
        asked = [make(p) for p in prompts]
        vectors = encoder.encode(asked)
        served = {"verified": 0, "static": 0}
        misses: Counter[str] = Counter()
        for prompt, question, a, b in zip(prompts, asked, vectors, stored):
            cands = [Candidate("stored", float(a @ b), prompt)]
            d = verified.decide(question, cands, DecisionPolicy())
            served["verified"] += d.hit
            served["static"] += static.decide(question, cands, DecisionPolicy()).hit
            if not d.hit:
                misses[d.reason.split(" for ")[0].split(" (")[0].split(";")[0][:40]] += 1
        why = "; ".join(f"{k} ({v})" for k, v in misses.most_common(2)) or "-"
        rows.append((name, served["verified"], served["static"], why))
        print(f"{name:30s} verified {served['verified']}/{args.n}  static 0.85 "
              f"{served['static']}/{args.n}  misses: {why}")
    encoder.close()
    if args.write:
        lines = [_common.header("surface_variants.py"), "",
                 (f"{args.n} dev QQP prompts, each asked again in other clothes against itself "
                  "(the default verified rule, and the static threshold 0.85 for comparison):"),
                 "", "| variant | verified serves | static 0.85 serves | verified misses, why |",
                 "|---|---|---|---|"]
        lines += [f"| {n} | {v}/{args.n} | {s}/{args.n} | {w} |" for n, v, s, w in rows]
        lines += ["", ("Before the guards and the verifier read prompts without greetings, "
                       "'please' and thanks (commit c65bf3b), the verified rule served 109, 121 "
                       "and 95 of these 150 for the first three variants (verifier p 0.81-0.85 "
                       "against a cutoff of 0.85), and 133, 126 and 110 for the three framings "
                       "before they were read the same way; before exact match dropped marks at "
                       "the end (ce95c66), 'what is x' was a miss against 'What is X?' at cosine "
                       "0.90.")]
        _common.write_section(TITLE, "\n".join(lines))


if __name__ == "__main__":
    main()
