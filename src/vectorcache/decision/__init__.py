"""Hit decision rules."""

from vectorcache.decision.base import Candidate, Decision, DecisionPolicy, HitDecider
from vectorcache.decision.static import StaticThresholdDecider

__all__ = [
    "Candidate",
    "Decision",
    "DecisionPolicy",
    "HitDecider",
    "StaticThresholdDecider",
    "build_decider",
]


def build_decider(mode: str = "static") -> HitDecider:
    """The decider for a mode name; unknown modes fall back to the static rule."""
    deciders: dict[str, type[HitDecider]] = {"static": StaticThresholdDecider}
    return deciders.get(mode, StaticThresholdDecider)()
