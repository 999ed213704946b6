"""Research: do token-alignment features (``research/alignment_features.py``) add cross-validated precision?

    python -m research.alignment [--seeds 0 1 2] [--out /tmp/vc_align_report.json]

Same rows, folds, replay and operating-point search as the dev-CV trainer (``research/dev_cv_verifier.py``) (imported
from it); the only change is the feature vector: current features vs current + alignment
features computed from the ONNX model's ``last_hidden_state`` (token states cached in /tmp).
Prints, per feature set: QQP / GPTCache stream CV recall at 0.5 / 1 / 2 / 3 / 5 % wrong answers
per request, out-of-fold AUC per pair source, and per-source pair results at each point.
Also times the extra work per candidate (a second model run for the stored prompt, the
alignment features, the larger tree ensemble).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from research import dev_cv_verifier as tv
from research.alignment_features import (
    ALIGNMENT_FEATURE_NAMES,
    TokenStates,
    alignment_features,
    token_states,
)

TOKEN_CACHE = Path("/tmp/vc_align_tokens.npz")
MODEL_CACHE = Path("/root/.cache/vectorcache/models")


def _encoder() -> Any:
    from vectorcache.embeddings.onnx import OnnxEncoder

    return OnnxEncoder(MODEL_CACHE)


def compute_tokens(texts: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per text: token ids and last_hidden_state rows (float16), from the ONNX session."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    if TOKEN_CACHE.exists():
        d = np.load(TOKEN_CACHE, allow_pickle=False)
        if str(d["key"]) == key:
            off, all_ids, all_hidden = d["offsets"], d["ids"], d["hidden"]  # read each once
            return ([all_ids[off[i]:off[i + 1]] for i in range(len(texts))],
                    [all_hidden[off[i]:off[i + 1]] for i in range(len(texts))])
    enc = _encoder()
    sess, tok = enc._session, enc._tokenizer
    ids_out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    hid_out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    t0 = time.time()
    for s in range(0, len(order), 32):
        rows = order[s:s + 32]
        batch = tok.encode_batch([texts[i] for i in rows])
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        types = np.array([e.type_ids for e in batch], dtype=np.int64)
        (hidden,) = sess.run(["last_hidden_state"],
                             {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        for k, i in enumerate(rows):
            n = int(mask[k].sum())
            ids_out[i] = ids[k, :n].astype(np.int32)
            hid_out[i] = hidden[k, :n].astype(np.float16)
    print(f"token states for {len(texts)} texts in {time.time() - t0:.0f}s", file=sys.stderr)
    off = np.cumsum([0] + [len(x) for x in ids_out])
    np.savez(TOKEN_CACHE, key=np.array(key), offsets=off, ids=np.concatenate(ids_out),
             hidden=np.concatenate(hid_out))
    return ids_out, hid_out


def build_states(ds: tv.Dataset, idf_mode: str) -> dict[str, TokenStates]:
    from tokenizers import Tokenizer

    from vectorcache.embeddings.reference import bundled_model_dir

    texts = sorted(ds.vec)
    ids, hidden = compute_tokens(texts)
    tk = Tokenizer.from_file(f"{bundled_model_dir()}/tokenizer.json")
    pieces = [[tk.id_to_token(int(t)) for t in row] for row in ids]
    idf = None
    if idf_mode == "dev":  # document frequency over all dev prompts (unsupervised)
        df: Counter[str] = Counter()
        for row in pieces:
            df.update(set(row))
        n = len(texts)
        idf = {p: math.log((n + 1) / (c + 1)) + 1.0 for p, c in df.items()}
    # sanity: mean-pooled token states reproduce the cached sentence embedding
    for i in range(0, len(texts), max(len(texts) // 20, 1)):
        v = hidden[i].astype(np.float32).mean(axis=0)
        v /= np.linalg.norm(v)
        assert float(v @ ds.vec[texts[i]]) > 0.999, (texts[i], float(v @ ds.vec[texts[i]]))
    return {t: token_states(i, p, h, idf) for t, i, p, h in zip(texts, ids, pieces, hidden, strict=True)}


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return round(float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2)
                       / (len(pos) * len(neg))), 4)


def evaluate(ds: tv.Dataset, seed: int, extra: dict[str, TokenStates] | None,
             subset: list[int] | None = None, base_cols: list[int] | None = None) -> dict[str, Any]:
    base = tv.features.__wrapped__ if hasattr(tv.features, "__wrapped__") else tv.features

    def feats(query: str, stored: str, cosine: float) -> list[float]:
        f = base(query, stored, cosine)
        if base_cols is not None:  # ablation: drop (some of) the lexical features
            f = [f[k] for k in base_cols]
        if extra is not None:
            al = alignment_features(extra[query], extra[stored])
            f = f + (al if subset is None else [al[k] for k in subset])
        return f

    feats.__wrapped__ = base  # type: ignore[attr-defined]
    tv.features = feats
    tv.GBM = {**tv.GBM, "random_state": seed}
    try:
        X, y, folds, meta = tv.build_rows(ds)
        models = [tv.fit(X[folds != f], y[folds != f]) for f in range(tv.FOLDS)]
        oof = np.zeros(len(y))
        for f in range(tv.FOLDS):
            oof[folds == f] = models[f].predict_proba(X[folds == f])[:, 1]
        out: dict[str, Any] = {"streams": {}, "pairs": {}, "auc": {}}
        qqp = next(n for n in ds.streams if "qqp" in n)
        points: list[dict[str, float]] = []
        for name, stream in ds.streams.items():
            P = np.stack([ds.vec[r["prompt"]] for r in stream])
            fq = [tv.fold_of(ds.group(r["prompt"], r["cluster"])) for r in stream]
            cands = tv.candidates(stream, P, models, fq)
            curve = [{"floor": fl, "cutoff": c, **tv.replay(stream, cands, fl, c, tv.GUARDS)}
                     for fl in tv.FLOORS for c in tv.CUTOFFS]
            res = {}
            for target in tv.TARGETS:
                ok = [p for p in curve if p["false_hit_rate"] <= target]
                best = max(ok, key=lambda p: (p["recall"], -p["false_hit_rate"])) if ok else None
                res[str(target)] = best
                if name == qqp and best:
                    points.append({"target": target, **best})
            out["streams"][name] = res
        pair_idx = [k for k, m in enumerate(meta) if m["kind"] == "pair"]
        flags = [tv.guard_flags(tv.analyse(r["b"]), tv.analyse(r["a"])) for r in ds.pairs]
        by_src: dict[str, list[int]] = {}
        for k, r in zip(pair_idx, ds.pairs, strict=True):
            by_src.setdefault(r["source"], []).append(k)
        out["auc"] = {s: auc(y[ks], oof[ks]) for s, ks in sorted(by_src.items())}
        out["auc"]["cosine_only_qqp"] = auc(y[by_src["qqp"]], X[by_src["qqp"], 0])
        for p in points:
            rows: dict[str, list[tuple[int, int]]] = {}
            for k, r, fl in zip(pair_idx, ds.pairs, flags, strict=True):
                hit = (r["a"].strip() == r["b"].strip()) or (
                    X[k, 0] >= p["floor"] and oof[k] >= p["cutoff"]
                    and not any(fl[g] for g in tv.GUARDS))
                key = (f'{r["source"]}/{r["category"]}' if r["source"] == "blindspots300"
                       else r["source"])
                rows.setdefault(key, []).append((int(r["same"]), int(hit)))
            out["pairs"][str(p["target"])] = {
                key: {"n": len(v),
                      "recall": tv._safe(sum(s and h for s, h in v), sum(s for s, _ in v)),
                      "wrong_hit": tv._safe(sum(h and not s for s, h in v), sum(not s for s, _ in v))}
                for key, v in sorted(rows.items())}
        out["rows"] = len(y)
        out["n_features"] = X.shape[1]
        return out
    finally:
        tv.features = base


def timing(ds: tv.Dataset, states: dict[str, TokenStates]) -> dict[str, float]:
    """Median costs per candidate, batch 1, on this (shared) box."""
    enc = _encoder()
    sess, tok = enc._session, enc._tokenizer
    qqp = next(s for n, s in ds.streams.items() if "qqp" in n)
    prompts = [r["prompt"] for r in qqp[:200]]

    def run_one(text: str) -> np.ndarray:
        e = tok.encode_batch([text])[0]
        ids = np.array([e.ids], dtype=np.int64)
        (h,) = sess.run(["last_hidden_state"], {"input_ids": ids,
                        "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
        return h[0]

    for t in prompts[:10]:
        run_one(t)
    model_ms = []
    for t in prompts[:120]:
        t0 = time.perf_counter()
        run_one(t)
        model_ms.append((time.perf_counter() - t0) * 1e3)
    feat_us = []
    for a, b in itertools.pairwise(prompts):
        t0 = time.perf_counter()
        alignment_features(states[a], states[b])
        feat_us.append((time.perf_counter() - t0) * 1e6)
    state_us = []
    for t in prompts[:100]:
        e = tok.encode_batch([t])[0]
        h = np.random.default_rng(0).standard_normal((len(e.ids), 384)).astype(np.float32)
        t0 = time.perf_counter()
        token_states(e.ids, e.tokens, h)
        state_us.append((time.perf_counter() - t0) * 1e6)
    ntok = [len(tok.encode_batch([t])[0].ids) for t in prompts]  # tk pads to 128
    return {"second_model_run_ms_p50": round(float(np.median(model_ms)), 2),
            "second_model_run_ms_p95": round(float(np.percentile(model_ms, 95)), 2),
            "alignment_features_us_p50": round(float(np.median(feat_us)), 1),
            "token_states_build_us_p50": round(float(np.median(state_us)), 1),
            "qqp_tokens_per_prompt_mean": round(float(np.mean(ntok)), 1),
            "storage_bytes_per_entry_fp16_mean": round(float(np.mean(ntok)) * 384 * 2),
            "storage_bytes_per_entry_int8_mean": round(float(np.mean(ntok)) * (384 + 4))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vc_dev_embeddings.npz"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--idf", choices=["rank", "dev"], nargs="+", default=["rank", "dev"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/vc_align_report.json"))
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--precision", default="fp32",
                    help="ONNX weights of the sentence vectors (the recorded run used fp32)")
    ap.add_argument("--ablation", action="store_true", help="also cosine-only and cosine+align")
    args = ap.parse_args()
    t0 = time.time()
    ds = tv.Dataset(args.data, args.cache, "onnx", args.precision)
    report: dict[str, Any] = {"alignment_features": list(ALIGNMENT_FEATURE_NAMES), "runs": {}}
    configs: dict[str, tuple[Any, ...]] = {"current": (None, None)}
    states_by = {}
    for mode in args.idf:
        states_by[mode] = build_states(ds, mode)
        configs[f"+align({mode}-idf)"] = (states_by[mode], None)
    # a compact subset: the "one unmatched word" signals only
    names = ALIGNMENT_FEATURE_NAMES
    compact = [names.index(n) for n in ("align_f1", "align_min", "align_min2",
                                        "align_unmatched60_query", "align_unmatched60_stored",
                                        "align_missing_idf_query", "align_missing_idf_stored")]
    configs[f"+align-compact({args.idf[0]}-idf)"] = (states_by[args.idf[0]], compact)
    if args.ablation:  # is the alignment signal the same as the lexical one?
        configs["cosine only"] = (None, None, [0, 1])
        configs[f"cosine+align({args.idf[0]}-idf), no lexical"] = (states_by[args.idf[0]], None, [0, 1])
    for cname, cfg in configs.items():
        for seed in args.seeds:
            r = evaluate(ds, seed, *cfg)
            report["runs"].setdefault(cname, []).append(r)
            q = r["streams"]["stream_qqp_dev.jsonl"]
            print(cname, seed, {t: (round(v["recall"], 3) if v else None) for t, v in q.items()},
                  "auc", r["auc"], f"{time.time() - t0:.0f}s", file=sys.stderr)
    if not args.no_timing:
        report["timing"] = timing(ds, states_by[args.idf[0]])
        print(report["timing"], file=sys.stderr)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    summarise(report)


def summarise(report: dict[str, Any]) -> None:
    print("| features | stream | " + " | ".join(f"recall @{float(t)*100:g}%" for t in tv.TARGETS) + " |")
    print("|---|---|" + "---|" * len(tv.TARGETS))
    for cname, runs in report["runs"].items():
        for stream in runs[0]["streams"]:
            cells = []
            for t in tv.TARGETS:
                vals = [r["streams"][stream][str(t)]["recall"] * 100 for r in runs
                        if r["streams"][stream][str(t)]]
                cells.append(f"{np.mean(vals):.1f} ({min(vals):.1f}-{max(vals):.1f})" if vals else "-")
            print(f"| {cname} | {stream} | " + " | ".join(cells) + " |")
    print()
    srcs = list(report["runs"]["current"][0]["auc"])
    print("| features | " + " | ".join(f"AUC {s}" for s in srcs) + " |")
    print("|---|" + "---|" * len(srcs))
    for cname, runs in report["runs"].items():
        print(f"| {cname} | " + " | ".join(
            f'{np.mean([r["auc"][s] for r in runs if r["auc"][s] is not None]):.3f}' for s in srcs) + " |")
    print()
    for t in ("0.01", "0.02"):
        keys = list(report["runs"]["current"][0]["pairs"].get(t, {}))
        print(f"pairs at the QQP {float(t)*100:g}% point (recall / wrongly hit, mean over seeds)")
        print("| features | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for cname, runs in report["runs"].items():
            cells = []
            for k in keys:
                rec = [r["pairs"][t][k]["recall"] for r in runs if t in r["pairs"]]
                wr = [r["pairs"][t][k]["wrong_hit"] for r in runs if t in r["pairs"]]
                rec_s = f"{np.mean(rec)*100:.1f}" if rec and rec[0] is not None else "-"
                wr_s = f"{np.mean(wr)*100:.1f}" if wr and wr[0] is not None else "-"
                cells.append(f"{rec_s} / {wr_s}")
            print(f"| {cname} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
