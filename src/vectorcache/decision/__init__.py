"""Hit decision rules.

``verified`` (the default) is a cosine floor plus lexical guards plus a learned pair verifier;
see ``vectorcache.decision.verified`` for how ``similarity_threshold`` and the project's
``target_error_rate`` map onto it. ``static`` is the plain cosine threshold other caches use.
"""

from collections.abc import Callable

from vectorcache.decision.base import Candidate, Decision, DecisionPolicy, HitDecider
from vectorcache.decision.spelling import RESPELT_MIN_COSINE
from vectorcache.decision.static import StaticThresholdDecider
from vectorcache.decision.verified import VerifiedDecider

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "RESPELT_MIN_COSINE",
    "Candidate",
    "Decision",
    "DecisionPolicy",
    "HitDecider",
    "StaticThresholdDecider",
    "VerifiedDecider",
    "build_decider",
]

DEFAULT_MODE = "verified"

MODES: dict[str, Callable[[str | None], HitDecider]] = {
    "verified": lambda model: VerifiedDecider(model=model),
    "static": lambda model: StaticThresholdDecider(),
}


def build_decider(mode: str = DEFAULT_MODE, model: str | None = None) -> HitDecider:
    """The decider for a mode name, reading the cosines of the embedding ``model``; an unknown
    name gets the default (verified) rule."""
    return MODES.get(mode, MODES[DEFAULT_MODE])(model)
