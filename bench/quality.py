"""Hit correctness: replay labelled prompts through the real cache path and count wrong answers.

Every request goes through ``Runtime.cache.lookup`` -- partition, exact match, embedding,
vector search, the hit decision -- exactly as the server runs it; a miss stores the answer the
way ``query`` does (``store_answer`` with the lookup's vector). Nothing is re-implemented here.

    python -m bench.quality                                  # every dev file, default decider
    python -m bench.quality --stream S.jsonl --pairs P.jsonl --contextual C.jsonl
    python -m bench.quality --sweep                          # + the curves, static vs verified
    python -m bench.quality --json                           # last stdout line: one JSON object
    python -m bench.quality --stream S.jsonl --show-wrong    # + every wrong answer, by pair
    python -m bench.quality --stream S.jsonl --feedback      # + replayed twice, wrong ones reported
    python -m bench.quality --sweep --write                  # + update BENCHMARKS.md section

Files (formats in /work/shared/data/README.md):

* ``--stream``: replayed in order in one fresh project; a miss stores the prompt with the
  prompt's ``cluster`` as the response, so a served answer's cluster is known. A hit is correct
  only if the served cluster equals the prompt's.
* ``--pairs``: ``a`` is stored and ``b`` looked up, each pair in its own partition (its own
  ``context``), so pairs never see each other.
* ``--contextual``: like pairs, but each side is a chat: the ``*_context`` turns, then the
  prompt, as ``messages``, so the conversation is part of the partition.

All prompts of the files are embedded once, in batches, by the server's own encoder, which is
then lent to the runtime behind a memo (the same vectors a per-request embed returns, to ~1e-6);
that keeps a full dev run to a couple of minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.quality_report import TITLE, write_report
from bench.quality_report import percent as _p
from vectorcache.decision import DEFAULT_MODE
from vectorcache.errors import VectorcacheError
from vectorcache.models import Usage
from vectorcache.runtime import Runtime
from vectorcache.service.requests import CacheRequest
from vectorcache.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

DATA = Path("/work/shared/data")
MODEL = "m"
STATIC_SWEEP = (0.80, 0.85, 0.90, 0.93, 0.95, 0.97)
TARGET_SWEEP = (0.005, 0.01, 0.02, 0.03, 0.05)


#: the fields each kind of file must have on every row (others are optional)
REQUIRED = {"stream": ("prompt", "cluster"), "pairs": ("a", "b", "same"),
            "contextual": ("a", "b", "same", "a_context", "b_context")}


class BadFile(ValueError):
    """An evaluation file this harness cannot read: the message names the file and line."""


def load(path: Path, kind: str) -> list[dict[str, Any]]:
    """The rows of a JSONL file (a UTF-8 byte-order mark and CRLF line ends are fine)."""
    rows = []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadFile(f"{path}:{number}: not JSON ({exc.msg})") from None
                missing = [k for k in REQUIRED[kind] if not isinstance(row, dict) or k not in row]
                if missing:
                    raise BadFile(f"{path}:{number}: a {kind} row needs {', '.join(missing)}")
                if kind == "stream":
                    row.setdefault("t", len(rows))  # its place in the replay, if unnamed
                rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(f"{path}: {exc}") from None
    return rows


class MemoEncoder:
    """The server's encoder, with every text of the run embedded up front in batches."""

    def __init__(self, inner: Any, texts: Sequence[str]) -> None:
        self._inner = inner
        self.model_id, self.dims = inner.model_id, inner.dims
        unique = sorted(set(texts))
        vectors = np.concatenate([inner.encode(unique[i:i + 64])
                                  for i in range(0, len(unique), 64)]) if unique else []
        self._memo = dict(zip(unique, vectors, strict=False))

    def encode(self, texts: Sequence[str]) -> Any:
        missing = [t for t in texts if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self._inner.encode(missing), strict=False))
        return np.stack([self._memo[t] for t in texts])

    def close(self) -> None:
        self._inner.close()


def texts_of(kind: str, rows: list[dict[str, Any]]) -> list[str]:
    if kind == "stream":
        return [r["prompt"] for r in rows]
    return [r[k] for r in rows for k in ("a", "b")]


class Harness:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.decision_ms: list[float] = []
        self.refused = 0  # rows the server refuses outright (counted as misses)
        self.last_entry_id: str | None = None

    async def _project(self, mode: str | None, target: float | None) -> Any:
        settings: dict[str, Any] = {}
        if mode is not None:
            settings["decision_mode"] = mode
        if target is not None:
            settings["target_error_rate"] = target
        name = f"quality-{time.perf_counter_ns()}"
        project = await self.rt.admin.create_project(name, **settings)
        return self.rt.admin.principal_for(project)

    async def _ask(self, principal: Any, *, prompt: str | None = None,
                   messages: list[dict[str, str]] | None = None, context: str | None = None,
                   threshold: float | None = None, answer: str) -> str | None:
        """Look up; on a miss store ``answer``. Returns the served answer, or None on a miss
        (the served entry's id is left in ``last_entry_id``)."""
        req = CacheRequest(prompt=prompt, messages=messages, model=MODEL, context=context,
                           similarity_threshold=threshold, include_debug=True)
        try:
            res = await self.rt.cache.lookup(principal, req)
        except VectorcacheError:  # the server would refuse it (an empty prompt, say): no hit
            self.refused += 1
            return None
        if "decision_time_ms" in res.debug and res.debug.get("candidates"):
            self.decision_ms.append(float(res.debug["decision_time_ms"]))
        self.last_entry_id = res.entry_id
        if res.hit:
            return res.response
        plan = self.rt.cache.plan(principal, prompt=prompt, messages=messages, model=MODEL,
                                  context=context, params={}, threshold=None)
        await self.rt.cache.store_answer(principal, plan, response=answer, usage=Usage(),
                                         provider=None, user=None, metadata=None,
                                         context=context, ttl_seconds=None, vector=res.vector)
        return None

    async def stream(self, rows: list[dict[str, Any]], mode: str | None = None,
                     target: float | None = None, threshold: float | None = None
                     ) -> dict[str, Any]:
        principal = await self._project(mode, target)
        hits = wrong = correct = labelled_wrong = 0
        t_of_cluster: dict[str, list[int]] = defaultdict(list)
        prompt_of = {r["t"]: r["prompt"] for r in rows}
        wrong_hits: list[dict[str, Any]] = []
        for r in rows:
            # the stored "answer" names the prompt it was stored for: [cluster, t]
            served = await self._ask(principal, prompt=r["prompt"], threshold=threshold,
                                     answer=json.dumps([r["cluster"], r["t"]]))
            t_of_cluster[r["cluster"]].append(r["t"])
            if served is None:
                continue
            hits += 1
            cluster, t = json.loads(served)
            if cluster == r["cluster"]:
                correct += 1
            else:
                wrong += 1
                hard = set(r.get("hard_negatives_before") or ())
                labelled = bool(hard & set(t_of_cluster[cluster]))
                labelled_wrong += labelled
                wrong_hits.append({"t": r["t"], "prompt": r["prompt"], "served_t": t,
                                   "served_prompt": prompt_of.get(t), "labelled": labelled})
        n, expected = len(rows), sum(bool(r.get("expected_hit")) for r in rows)
        return {"n": n, "hit_rate": _rate(hits, n), "false_hit_rate": _rate(wrong, n),
                "hit_precision": correct / hits if hits else 1.0,
                "recall": _rate(correct, expected),
                "labelled_false_hit_rate": _rate(labelled_wrong, n), "wrong_hits": wrong_hits}

    async def feedback(self, rows: list[dict[str, Any]], report: bool) -> dict[str, Any]:
        """The stream replayed twice in one project (popular prompts come back). With
        ``report``, every wrong answer is reported at once through ``POST /v1/cache/feedback``'s
        service, as a client that checks its answers would (an oracle: the labels say which
        are wrong). Counts wrong answers per pass, and those served again in pass 2 for the
        same prompt by the same entry."""
        principal = await self._project(None, None)
        expected = sum(bool(r.get("expected_hit")) for r in rows)
        out: dict[str, Any] = {}
        wrong_before: set[tuple[str, str | None]] = set()
        for n_pass in (1, 2):
            wrong = correct = repeated = 0
            for r in rows:
                served = await self._ask(principal, prompt=r["prompt"],
                                         answer=json.dumps([r["cluster"], r["t"]]))
                if served is None:
                    continue
                if json.loads(served)[0] == r["cluster"]:
                    correct += 1
                    continue
                wrong += 1
                key = (r["prompt"], self.last_entry_id)
                repeated += key in wrong_before
                wrong_before.add(key)
                if report and self.last_entry_id:
                    await self.rt.feedback.report(principal, entry_id=self.last_entry_id,
                                                  correct=False, prompt=r["prompt"],
                                                  messages=None)
            out[f"pass{n_pass}"] = {"wrong": wrong, "false_hit_rate": _rate(wrong, len(rows)),
                                    "correct_hits": correct, "repeated_wrong": repeated,
                                    "recall": correct / expected if n_pass == 1 else None}
        return out

    async def pairs(self, rows: list[dict[str, Any]], contextual: bool, mode: str | None = None,
                    target: float | None = None, threshold: float | None = None
                    ) -> dict[str, Any]:
        principal = await self._project(mode, target)
        outcomes: list[tuple[dict[str, Any], bool]] = []
        for k, r in enumerate(rows):
            ctx = f"pair-{k}"
            a_msgs = b_msgs = None
            if contextual:
                a_msgs = [{"role": "user", "content": t} for t in r["a_context"]]
                a_msgs.append({"role": "user", "content": r["a"]})
                b_msgs = [{"role": "user", "content": t} for t in r["b_context"]]
                b_msgs.append({"role": "user", "content": r["b"]})
            await self._ask(principal, prompt=None if contextual else r["a"], messages=a_msgs,
                            context=ctx, threshold=threshold, answer="a")
            served = await self._ask(principal, prompt=None if contextual else r["b"],
                                     messages=b_msgs, context=ctx, threshold=threshold,
                                     answer="b")
            outcomes.append((r, served == "a"))
        return pair_metrics(outcomes)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def pair_metrics(outcomes: list[tuple[dict[str, Any], bool]]) -> dict[str, Any]:
    def block(items: list[tuple[dict[str, Any], bool]]) -> dict[str, Any]:
        pos = sum(bool(r["same"]) for r, _ in items)
        hits = sum(h for _, h in items)
        tp = sum(h and bool(r["same"]) for r, h in items)
        fp = hits - tp
        return {"n": len(items), "precision": _rate(tp, hits), "recall": _rate(tp, pos),
                "false_hit_rate": _rate(fp, len(items) - pos)}

    by_source: dict[str, list[tuple[dict[str, Any], bool]]] = defaultdict(list)
    by_category: dict[str, list[tuple[dict[str, Any], bool]]] = defaultdict(list)
    for r, h in outcomes:
        by_source[r.get("source", "?")].append((r, h))
        by_category[r.get("category", "?")].append((r, h))
    overall = block(outcomes)
    return {**overall,
            "false_hit_rate_by_category": {c: block(v)["false_hit_rate"]
                                           for c, v in sorted(by_category.items())},
            "by_source": {s: block(v) for s, v in sorted(by_source.items())},
            "by_category": {c: block(v) for c, v in sorted(by_category.items())}}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    files: list[tuple[str, Path, list[dict[str, Any]]]] = (
        [("stream", p, load(p, "stream")) for p in args.stream]
        + [("pairs", p, load(p, "pairs")) for p in args.pairs]
        + [("contextual", p, load(p, "contextual")) for p in args.contextual])
    texts: list[str] = []
    for kind, _, rows in files:
        texts += texts_of(kind, rows)
        if kind == "contextual":
            texts += [t for r in rows for t in (*r["a_context"], *r["b_context"])]
    from vectorcache.embeddings.factory import build_encoder

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vc-quality-") as tmp:
        settings = Settings(data_dir=Path(tmp), embedding_backend=args.backend,
                            embedding_model=args.model)
        encoder = MemoEncoder(build_encoder(settings), texts)
        embed_s = time.perf_counter() - t0
        results: dict[str, Any] = {"_meta": {"embed_s": round(embed_s, 1)}}
        try:
            async with Runtime.open(settings, encoder=encoder) as rt:
                h = Harness(rt)
                for kind, path, rows in files:
                    t = time.perf_counter()
                    if kind == "stream":
                        res = await h.stream(rows)
                    else:
                        res = await h.pairs(rows, contextual=kind == "contextual")
                    res["seconds"] = round(time.perf_counter() - t, 1)
                    if args.sweep:
                        res["sweep"] = await sweep(h, kind, rows)
                    if args.feedback and kind == "stream":
                        res["feedback"] = {"none": await h.feedback(rows, report=False),
                                           "reported": await h.feedback(rows, report=True)}
                    results[path.name] = res
                    print(f"{path.name}: {time.perf_counter() - t:.0f}s", file=sys.stderr)
                ms = h.decision_ms
                results["_meta"]["refused_rows"] = h.refused
                results["_meta"]["decision_ms_p50"] = float(np.median(ms)) if ms else None
                results["_meta"]["decision_ms_p95"] = (float(np.percentile(ms, 95))
                                                       if ms else None)
        finally:
            encoder.close()
    results["_meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    return results


async def sweep(h: Harness, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The curve over each decider's knob: static's threshold, verified's target error rate."""
    async def one(mode: str, target: float | None, threshold: float | None) -> dict[str, Any]:
        if kind == "stream":
            return await h.stream(rows, mode, target, threshold)
        return await h.pairs(rows, kind == "contextual", mode, target, threshold)

    return {
        "static": {str(th): await one("static", None, th) for th in STATIC_SWEEP},
        DEFAULT_MODE: {str(t): await one(DEFAULT_MODE, t, None) for t in TARGET_SWEEP},
    }


# ---------------------------------------------------------------- printing

def print_human(results: dict[str, Any], show_wrong: bool = False) -> None:
    for name, res in results.items():
        if name.startswith("_"):
            continue
        print(f"\n== {name}")
        if "hit_rate" in res:
            print(f"  hit rate {_p(res['hit_rate'])}  false-hit rate {_p(res['false_hit_rate'])}"
                  f"  (labelled-negative part {_p(res['labelled_false_hit_rate'])})"
                  f"  hit precision {_p(res['hit_precision'])}  recall {_p(res['recall'])}")
            for w in res["wrong_hits"] if show_wrong else ():
                print(f"    wrong: t={w['t']} {w['prompt']!r} served t={w['served_t']} "
                      f"{w['served_prompt']!r}"
                      f" ({'labelled different' if w['labelled'] else 'unlabelled pair'})")
        else:
            print(f"  precision {_p(res['precision'])}  recall {_p(res['recall'])}  "
                  f"false-hit rate {_p(res['false_hit_rate'])}")
            for group in ("by_source", "by_category"):
                for key, b in res[group].items():
                    print(f"    {key:34s} n={b['n']:5d}  precision {_p(b['precision']):>6s}  "
                          f"recall {_p(b['recall']):>6s}  wrongly hit {_p(b['false_hit_rate'])}")
        for variant, passes in res.get("feedback", {}).items():
            for name_, p in passes.items():
                print(f"    feedback {variant:8s} {name_}: wrong {p['wrong']} "
                      f"({_p(p['false_hit_rate'])}), served again {p['repeated_wrong']}, "
                      f"correct hits {p['correct_hits']}")
        for mode, curve in res.get("sweep", {}).items():
            knob = "threshold" if mode == "static" else "target error"
            for k, r in curve.items():
                if "hit_rate" in r:
                    print(f"    sweep {mode:8s} {knob} {k:6s}: hit {_p(r['hit_rate'])}  "
                          f"false-hit {_p(r['false_hit_rate'])}  recall {_p(r['recall'])}")
                else:
                    print(f"    sweep {mode:8s} {knob} {k:6s}: precision {_p(r['precision'])}  "
                          f"recall {_p(r['recall'])}  wrongly hit {_p(r['false_hit_rate'])}")
    meta = results["_meta"]
    p50, p95 = meta["decision_ms_p50"], meta["decision_ms_p95"]
    timing = (f"decision time p50 {p50:.3f} ms, p95 {p95:.3f} ms" if p50 is not None
              else "no decision timed")
    print(f"\n{timing}; total {meta['total_s']}s (embedding {meta['embed_s']}s)")


def compact(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, res in results.items():
        if name.startswith("_"):
            continue
        if "hit_rate" in res:
            out[name] = {k: res[k] for k in ("hit_rate", "false_hit_rate", "hit_precision",
                                             "recall")}
        else:
            out[name] = {k: res[k] for k in ("precision", "recall",
                                             "false_hit_rate_by_category")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stream", type=Path, action="append", default=[])
    ap.add_argument("--pairs", type=Path, action="append", default=[])
    ap.add_argument("--contextual", type=Path, action="append", default=[])
    ap.add_argument("--sweep", action="store_true", help="also the static / verified curves")
    ap.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    ap.add_argument("--write", action="store_true", help=f"update '## {TITLE}' in BENCHMARKS.md")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--model", default=Settings().embedding_model,
                    help="a shipped embedding model (default: the server's)")
    ap.add_argument("--dump", type=Path, help="write the full results as JSON here")
    ap.add_argument("--feedback", action="store_true",
                    help="also replay each stream twice, with and without reporting every "
                         "wrong answer through the feedback service")
    ap.add_argument("--show-wrong", action="store_true",
                    help="list every wrong answer a stream got at the default point")
    args = ap.parse_args()
    if not (args.stream or args.pairs or args.contextual):
        args.stream = sorted(DATA.glob("stream_*.jsonl"))
        args.pairs = sorted(DATA.glob("pairs_*.jsonl"))
        args.contextual = sorted(DATA.glob("contextual_*.jsonl"))
    try:
        results = asyncio.run(run(args))
    except BadFile as exc:
        ap.exit(2, f"quality.py: {exc}\n")
    print_human(results, args.show_wrong)
    if args.dump:
        args.dump.write_text(json.dumps(results, indent=1))
    if args.write:
        write_report(results)
    if args.json:
        print(json.dumps(compact(results), separators=(",", ":")))


if __name__ == "__main__":
    main()
