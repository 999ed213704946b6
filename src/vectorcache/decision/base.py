"""The hit decision: given a prompt and its nearest stored prompts, serve one of them or not.

This is its own package so that rules can be measured against each other on the same data
(``bench/quality.py``) and swapped by a project setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Candidate", "Decision", "DecisionPolicy", "HitDecider"]


@dataclass(frozen=True)
class Candidate:
    """A stored entry near the query, in the same partition, already decrypted."""

    entry_id: str
    similarity: float  # cosine similarity of normalised embeddings, in [-1, 1]
    prompt: str


@dataclass(frozen=True)
class DecisionPolicy:
    """The operating point the caller asked for (per request, else the project's setting)."""

    threshold: float = 0.85
    #: optional: a target wrong-answer rate the decider may translate into its own knob
    target_error_rate: float | None = None
    #: "static" = plain cosine threshold (the peers' rule); anything else = the decider's own
    mode: str = "verified"


@dataclass(frozen=True)
class Decision:
    hit: bool
    candidate: Candidate | None = None
    #: the score the decision was made on (cosine for static; the verifier's for others)
    score: float | None = None
    #: why, in words a developer understands (shown in ``debug``)
    reason: str = ""
    details: dict[str, object] = field(default_factory=dict)


class HitDecider(Protocol):
    def decide(
        self, prompt: str, candidates: Sequence[Candidate], policy: DecisionPolicy
    ) -> Decision: ...

    def floor(self, policy: DecisionPolicy) -> float:
        """No candidate below this similarity can be served (the store need not decrypt it)."""
        ...

    def respelt(self, prompt: str) -> str | None:
        """Another text to search with when ``prompt`` missed (the prompt without its slips of
        the keyboard), or None. The decision still reads ``prompt`` itself."""
        ...
