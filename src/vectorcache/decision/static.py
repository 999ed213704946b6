"""The peers' rule: the nearest candidate is a hit if its cosine similarity reaches the
threshold."""

from __future__ import annotations

from collections.abc import Sequence

from vectorcache.decision.base import Candidate, Decision, DecisionPolicy

__all__ = ["StaticThresholdDecider"]


class StaticThresholdDecider:
    def floor(self, policy: DecisionPolicy) -> float:
        return policy.threshold

    def respelt(self, prompt: str) -> str | None:
        return None  # the peers' rule reads nothing but the cosine

    def decide(
        self, prompt: str, candidates: Sequence[Candidate], policy: DecisionPolicy
    ) -> Decision:
        if not candidates:
            return Decision(hit=False, reason="no candidate in partition")
        best = max(candidates, key=lambda c: c.similarity)
        if best.similarity >= policy.threshold:
            return Decision(
                hit=True, candidate=best, score=best.similarity,
                reason=f"cosine {best.similarity:.3f} >= threshold {policy.threshold:.3f}",
            )
        return Decision(
            hit=False, candidate=best, score=best.similarity,
            reason=f"cosine {best.similarity:.3f} < threshold {policy.threshold:.3f}",
        )
