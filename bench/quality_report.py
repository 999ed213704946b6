"""The ``## Hit correctness`` section of BENCHMARKS.md, from ``bench/quality.py``'s results.

What was measured, read, tried and dropped lives here as prose next to the tables it frames, so
``python bench/quality.py --sweep --feedback --write`` rewrites the whole section in one go.
"""

from __future__ import annotations

from typing import Any

from bench import _common
from vectorcache.decision import DEFAULT_MODE
from vectorcache.decision.verifier import load_verifier
from vectorcache.settings import Settings

TITLE = "Hit correctness"


def percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _row(r: dict[str, Any]) -> str:
    if "hit_rate" in r:
        return (f"{percent(r['hit_rate'])} | {percent(r['false_hit_rate'])} | {percent(r['hit_precision'])} | "
                f"{percent(r['recall'])}")
    cats = r["false_hit_rate_by_category"]
    return (f"{percent(r['precision'])} | {percent(r['recall'])} | " + " | ".join(
        percent(cats.get(c)) for c in ("negation", "entity_swap", "numerical_temporal_swap"))
        + f" | {percent(r['by_source'].get('paws_wiki', {}).get('false_hit_rate'))}")


def write_report(results: dict[str, Any]) -> None:
    """Rewrite the section (other sections are left alone)."""
    v = load_verifier()
    threshold = Settings().default_similarity_threshold
    lines = [_common.header("quality.py"), "",
             (f"Default decider `{DEFAULT_MODE}` (verifier {v.version}; vetoes: "
             f"{', '.join(sorted(v.vetoes))}), default target error rate "
             f"{v.default_target_error_rate:.1%}. Decision time p50 "
             f"{results['_meta']['decision_ms_p50']:.3f} ms, p95 "
             f"{results['_meta']['decision_ms_p95']:.3f} ms (on top of embed + search)."), "",
             ("**What to quote.** The default (stock) model's verifier was fitted on dev itself, "
              "in grouped 5-fold CV (`python -m research.dev_cv_verifier`): the operating-point "
              "table gives its CV figures, and the replay figures below are in-sample, so "
              "optimistic. Its CV said 26.9 % at 1 %; held-out said 20.9 %. The trained model's "
              "verifier is fitted on the training split instead (section *The trained embedding "
              "model*; `python -m bench.quality --model vc-minilm-l6-pairs`)."), "",
             ("Operating points (dev QQP stream replay, grouped CV), per target the best point for each "
              "lowest floor; in bold, the one a project with the default "
              f"similarity_threshold ({threshold}) gets:"), "",
             ("| target error rate | cosine floor | verifier cutoff | CV false-hit rate | "
             "CV recall |"), "|---|---|---|---|---|"]
    for p in v.operating_points:
        row = (f"{p.target_error_rate:.1%} | {p.cosine_floor:.2f} | {p.cutoff:.3f} | "
               f"{p.cv_false_hit_rate:.2%} | {p.cv_recall:.1%}")
        if p == v.operating_point(p.target_error_rate, threshold):
            row = " | ".join(f"**{cell}**" for cell in row.split(" | "))
        lines.append(f"| {row} |")
    for name, res in results.items():
        if name.startswith("_"):
            continue
        stream = "hit_rate" in res
        lines += ["", f"### {name}", ""]
        head = ("| decider | knob | hit rate | false-hit rate | hit precision | recall |"
                if stream else "| decider | knob | precision | recall | negation wrongly hit | "
                "entity swap | number/date swap | paws_wiki negatives |")
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        lines.append(f"| **{DEFAULT_MODE} (default)** | default | {_row(res)} |")
        for mode, curve in res.get("sweep", {}).items():
            knob = "threshold" if mode == "static" else "target error"
            for k, r in curve.items():
                lines.append(f"| {mode} | {knob} {k} | {_row(r)} |")
        if not stream:
            lines += ["", "Per source / category at the default operating point:", "",
                      "| group | n | precision | recall | wrongly hit (share of negatives) |",
                      "|---|---|---|---|---|"]
            for group in ("by_source", "by_category"):
                for key, b in res[group].items():
                    lines.append(f"| {key} | {b['n']} | {percent(b['precision'])} | "
                                 f"{percent(b['recall'])} | {percent(b['false_hit_rate'])} |")
        if "feedback" in res:
            lines += ["", FEEDBACK_PROSE, "",
                      ("| wrong answers reported | pass | wrong answers | of them served "
                       "again | correct hits |"), "|---|---|---|---|---|"]
            for variant, passes in res["feedback"].items():
                for name_, p in passes.items():
                    lines.append(f"| {'yes' if variant == 'reported' else 'no'} | {name_[-1]} | "
                                 f"{p['wrong']} ({percent(p['false_hit_rate'])}) | "
                                 f"{p['repeated_wrong']} | {p['correct_hits']} |")
    _common.write_section(TITLE, "\n".join(lines))


FEEDBACK_PROSE = (
    "Wrong-answer reports (`--feedback`; `POST /v1/cache/feedback`): the stream replayed twice "
    "in one project, as popular prompts come back, once as is and once with every wrong answer "
    "reported as soon as it is served (an oracle client: the labels say which answers are "
    "wrong). A report raises that entry's floor to half-way between the reported cosine and 1. "
    "'Served again' counts pass-2 wrong answers given to the same prompt by the same entry as "
    "in pass 1. Reports also help within pass 1: the reported prompt misses and is stored, so "
    "its own cluster then hits it.")
