"""What the request log keeps for one request: ids, counts and timings, never text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OUTCOMES", "RequestRow"]

#: the outcome of one request: how the cache answered it, or that it failed
OUTCOMES = ("hit_exact", "hit_semantic", "miss", "bypass", "error", "other")


@dataclass(slots=True)
class RequestRow:
    """One request, as written behind the request path (no prompt, no answer, no key).
    Not frozen: a frozen dataclass's ``__init__`` costs ~3x more, on the request path."""

    at: float  # epoch seconds, when the request arrived
    project_id: str  # "" when the request never got that far (an unknown key)
    key_id: str
    route: str  # the route template ("/v1/cache/query"), never the raw path
    method: str
    model: str
    status: int
    outcome: str  # one of OUTCOMES
    reason: str  # why a bypass ("pii", "no-cache"), or the error class ("invalid_api_key")
    latency_ms: float
    provider_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_saved: int = 0
    cost_usd: float = 0.0
    cost_saved_usd: float = 0.0
    client_ip: str = ""
    user_agent: str = ""
    user_hash: str = ""  # the end user's id, as the server's keyed hash
