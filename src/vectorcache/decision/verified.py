"""The default rule: cosine floor, then lexical guards, then a learned verifier.

How a request's knobs map onto it:

* ``similarity_threshold`` (per request, else the project's; default 0.85) stays what clients
  know: a cosine floor. No candidate below it is ever served. It can only make the decision
  stricter than the operating point, never looser.
* The project's ``target_error_rate`` (default 1 %, ``DecisionPolicy.target_error_rate=None``)
  chooses the operating point: a row of the table shipped in ``verifier.json``, each row being
  the (cosine floor, verifier cutoff) that kept wrong answers within that rate, with the most
  hits, on the dev QQP replay stream in grouped cross-validation (``bench/train_verifier.py``),
  among the points whose floor is at least ``similarity_threshold`` (so what was measured is
  what the project gets; the loosest point, at 5 %, needs a threshold of 0.80). The effective
  floor is ``max(similarity_threshold, point.cosine_floor)``. To get more hits, raise the target
  error rate (and lower the threshold); to get fewer, lower it or raise the threshold.

Per candidate above the floor, in order of cosine: a prompt equal after normalisation is served
outright, and so is one that fires no guard and has the same words once misspellings are read as
the words they stand for ("captial" / "capital": ``spelling.py`` says when a word is one); a
candidate a hard guard fires on (``guards.REGISTRY``: a negation, date or
opposite word on one side only, other numbers or operators, other code around the same
words, the same numbers in another order,
a figure on one side only, named entities in swapped order, one content word swapped, another
instruction on the answer's form, a question narrowed by a trailing phrase or asked about
another time, whether one may, must or should, a difference the model cannot see) is
rejected (``debug`` lists the guards that fired and what each saw differ, ``evidence``); the
rest are scored by the verifier and the most probable one is served if its
probability reaches the cutoff. The two sides of a symmetric comparison ("the difference
between A and B") may swap.
"""

from __future__ import annotations

from collections.abc import Sequence

from vectorcache.decision import analysis, lexicon, spelling
from vectorcache.decision.analysis import analyse
from vectorcache.decision.base import Candidate, Decision, DecisionPolicy
from vectorcache.decision.features import pair_features
from vectorcache.decision.guards import fired_guards
from vectorcache.decision.respelling import respelt_text, spelled_alike
from vectorcache.decision.verifier import Verifier, load_verifier
from vectorcache.hashing import normalize_prompt

__all__ = ["VerifiedDecider"]

#: how many examined candidates are listed in ``details`` (debug output)
_SHOWN = 3


class VerifiedDecider:
    def __init__(self, verifier: Verifier | None = None, model: str | None = None) -> None:
        """``model``: the embedding model whose cosines the decider reads (its verifier)."""
        self._verifier = verifier or load_verifier(model)
        # the tables the decision reads, loaded now, not on the first request's event-loop turn
        analysis.warm_up()
        lexicon.warm_up()
        spelling.warm_up()

    def floor(self, policy: DecisionPolicy) -> float:
        point = self._verifier.operating_point(policy.target_error_rate, policy.threshold)
        return point.floor_for(policy.threshold)

    def respelt(self, prompt: str) -> str | None:
        return respelt_text(prompt)

    def decide(
        self, prompt: str, candidates: Sequence[Candidate], policy: DecisionPolicy
    ) -> Decision:
        verifier = self._verifier
        point = verifier.operating_point(policy.target_error_rate, policy.threshold)
        floor = point.floor_for(policy.threshold)
        details: dict[str, object] = {
            "mode": "verified", "verifier": verifier.version,
            "target_error_rate": point.target_error_rate, "cosine_floor": round(floor, 4),
            "cutoff": point.cutoff,
        }
        if not candidates:
            return Decision(hit=False, reason="no candidate in partition", details=details)
        ordered = sorted(candidates, key=lambda c: c.similarity, reverse=True)
        query = analyse(prompt)
        norm = normalize_prompt(prompt)
        examined: list[dict[str, object]] = []
        best: tuple[float, Candidate] | None = None
        vetoed: list[str] = []
        for cand in ordered:
            if cand.similarity < floor:
                break
            if normalize_prompt(cand.prompt) == norm:
                details["examined"] = examined
                return Decision(
                    hit=True, candidate=cand, score=1.0, details=details,
                    reason=f"same text after normalisation (cosine {cand.similarity:.3f})",
                )
            stored = analyse(cand.prompt)
            # each side's misspellings of the other's words read as those words ("captial")
            respelt_query, respelt_stored = spelled_alike(query, stored)
            found = fired_guards(respelt_query, respelt_stored)
            fired = [g for g in found if g in verifier.vetoes]
            row: dict[str, object] = {"entry_id": cand.entry_id,
                                      "cosine": round(cand.similarity, 4)}
            # the same words up to misspellings: the verifier, which counts a misspelt word
            # as a word the other side lacks, is not asked (equal words without respelling
            # are its to score)
            if (not fired and query.tokens != stored.tokens
                    and respelt_query.tokens == respelt_stored.tokens):
                examined.append(row)
                details["examined"] = examined[:_SHOWN]
                return Decision(
                    hit=True, candidate=cand, score=1.0, details=details,
                    reason=(f"same words up to misspellings (cosine {cand.similarity:.3f} >= "
                            f"floor {floor:.3f}; guards passed)"),
                )
            if fired:
                row["vetoed_by"] = fired
                # what each guard saw differ, on the query's side only: {"number": {"query":
                # ["5"]}}. The stored prompt's words stay out: this caller was not served that
                # entry, and debug must not become a way to read other users' prompts.
                row["evidence"] = {g: {"query": list(found[g].query)} for g in fired}
                vetoed.extend(fired)
            else:
                p = verifier.probability(pair_features(cand.similarity, query, stored))
                row["probability"] = round(p, 4)
                if best is None or p > best[0]:
                    best = (p, cand)
            if len(examined) < _SHOWN:
                examined.append(row)
        details["examined"] = examined
        top = ordered[0]
        if best is not None and best[0] >= point.cutoff:
            p, cand = best
            details["guards_passed"] = sorted(verifier.vetoes)
            return Decision(
                hit=True, candidate=cand, score=p, details=details,
                reason=(f"verifier p={p:.3f} >= {point.cutoff:.3f}; cosine "
                        f"{cand.similarity:.3f} >= floor {floor:.3f}; guards passed "
                        f"({', '.join(sorted(verifier.vetoes)) or 'none'})"),
            )
        if best is not None:
            p, cand = best
            reason = (f"verifier p={p:.3f} < {point.cutoff:.3f} for the best candidate "
                      f"(cosine {cand.similarity:.3f})")
        elif vetoed:
            reason = (f"every candidate above the cosine floor was vetoed "
                      f"({', '.join(sorted(set(vetoed)))} differs)")
        else:
            reason = f"nearest cosine {top.similarity:.3f} < floor {floor:.3f}"
        return Decision(hit=False, candidate=top, score=best[0] if best else None,
                        reason=reason, details=details)
