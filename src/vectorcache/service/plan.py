"""Planning a request: which project, model and partition it is matched in, the text that is
embedded (screened for personal data), the exact-match key, and the hit policy.

Also the prompt's other reading, without slips of the keyboard (``respelt_vector``), which a
lookup searches with once more and a store files a miss under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vectorcache.decision import RESPELT_MIN_COSINE, DecisionPolicy, HitDecider
from vectorcache.embeddings import Embedder
from vectorcache.errors import ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.models import Project
from vectorcache.security import pii
from vectorcache.service.auth import Principal
from vectorcache.service.prompt import PromptView, resolve_prompt
from vectorcache.service.requests import CacheRequest
from vectorcache.service.scope import resolve_scope

__all__ = ["Plan", "Planner"]


@dataclass(frozen=True)
class Plan:
    """A request resolved against its project: what is matched, where, and how."""

    project: Project
    model: str
    view: PromptView
    partition: str
    exact_key: str
    policy: DecisionPolicy
    params: dict[str, Any]
    #: answer, but neither look up nor store: "pii" (personal data under the "bypass"
    #: policy) or "no_user" (``user`` cache scope, no user named: ``service/scope.py``)
    bypass: str | None = None
    #: the end user whose own partition this is (``service/scope.py``); None: shared
    user_hash: str | None = None

    @property
    def pii_bypass(self) -> bool:
        return self.bypass == "pii"


class Planner:
    def __init__(self, *, hasher: Hasher, embedder: Embedder,
                 decider_for: Callable[[str], HitDecider], max_prompt_chars: int) -> None:
        self._hasher = hasher
        self._embedder = embedder
        self._decider_for = decider_for  # mode name -> HitDecider
        self._max_prompt_chars = max_prompt_chars

    def plan(self, principal: Principal, *, prompt: str | None, messages: list[Any] | None,
             model: str | None, context: str | None, params: dict[str, Any],
             threshold: float | None, user: str | None = None) -> Plan:
        project = principal.project
        model = model or project.default_model
        if not model:
            raise ValidationFailed("Field required: model", param="model")
        principal.check_model(model)
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValidationFailed("similarity_threshold must be between 0 and 1",
                                   param="similarity_threshold")
        view, prompt_ok = self.matched_view(project, prompt, messages)
        screened_context, context_ok = pii.screen(context, project.pii_policy)
        scope = resolve_scope(principal.cache_scope, self.user_hash(project, user),
                              redacted=view.redacted or screened_context != context)
        partition = self._hasher.partition(project.id, model, context, view.history, params,
                                           scope.user_hash)
        policy = DecisionPolicy(
            threshold=project.similarity_threshold if threshold is None else threshold,
            target_error_rate=project.target_error_rate,
            mode=project.decision_mode or DecisionPolicy().mode,
        )
        return Plan(project, model, view, partition,
                    self._hasher.exact(partition, view.text), policy, params,
                    bypass="pii" if not (prompt_ok and context_ok) else scope.bypass,
                    user_hash=scope.user_hash)

    def plan_request(self, principal: Principal, req: CacheRequest) -> Plan:
        return self.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params,
                         threshold=req.similarity_threshold, user=req.user)

    def matched_view(self, project: Project, prompt: str | None,
                     messages: list[Any] | None) -> tuple[PromptView, bool]:
        """The text that is embedded and matched, and whether it is free of personal data
        (under the "redact" policy the redacted text is matched and stored instead)."""
        view = resolve_prompt(prompt, messages, self._max_prompt_chars)
        text, ok = pii.screen(view.text, project.pii_policy)
        return replace(view, text=text or view.text,
                       redacted=text is not None and text != view.text), ok

    async def respelt_vector(self, project: Project, text: str, typed: Any) -> Any | None:
        """The vector of ``text`` as it reads without its slips of the keyboard ("captial"),
        which the prompt as typed embeds far from, or None: when the project's rule reads no
        slips, the text has none, or the model moves the reading too far from the prompt as
        typed (``RESPELT_MIN_COSINE``): then the "slip" was a word it knows, a name or a
        product ("cuda" is not "cuba", "canva" not "canvas"), not noise it could not read."""
        decider = self._decider_for(project.decision_mode or DecisionPolicy().mode)
        respelt = decider.respelt(text)
        if respelt is None:
            return None
        vector = (await self._embedder.embed([respelt]))[0]
        return vector if float(np.dot(typed, vector)) >= RESPELT_MIN_COSINE else None

    def user_hash(self, project: Project, user: str | None) -> str | None:
        return None if user is None else self._hasher.user(project.id, user)
