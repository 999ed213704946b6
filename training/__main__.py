"""The whole recipe, in order: ``python -m training`` (CPU only, seeded; ~1.5 h on 2 cores).

1. fine-tune MiniLM-L6 on the training split (``train_embedder``),
2. export it as int8 ONNX into the package (``export_model``), and the stock model beside it,
3. fit the verifier on the training split, choosing its points on dev (``train_verifier``),
4. measure both models on dev (``evaluate_embedder``).
"""

from __future__ import annotations

import subprocess
import sys

STEPS = (
    ["training.train_embedder"],
    ["training.export_model", "--name", "vc-minilm-l6-pairs", "--source",
     ".vectorcache/training/embedder", "--max-tokens", "256"],
    ["training.export_model", "--name", "all-minilm-l6-v2", "--stock"],
    ["training.train_verifier", "--model", "vc-minilm-l6-pairs"],
    ["training.evaluate_embedder"],
)


def main() -> None:
    for step in STEPS:
        print("==>", " ".join(step), flush=True)
        subprocess.run([sys.executable, "-m", *step], check=True)


if __name__ == "__main__":
    main()
