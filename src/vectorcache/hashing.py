"""Keyed hashes (HMAC-SHA256 with the server secret) for everything looked up by equality.

Partitions, exact-match keys and end-user ids are stored only as these hashes, so a copy of the
database cannot confirm a guessed prompt, context or user id without the server secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence

from vectorcache.apikeys import key_hash

__all__ = ["Hasher", "normalize_prompt"]

_SPACE = re.compile(r"\s+")
#: sentence marks at the end ('What is X?' is 'what is x': the model's cosine for the pair is
#: only 0.90). A '!' right after a digit is a factorial ('5!'), so it stays.
_MARKS = "?.\u3002"
#: ...and in a prompt that reads as code or a formula, every mark stays: 'Explain the regex
#: \d+?' ends in a lazy quantifier, not a question mark. Wider on purpose than the code guard's
#: signs (``decision/reading.py``, which leaves "$" to the number guards): taking prose for code
#: here only costs the exact-match shortcut
_CODE_SIGNS = re.compile(r"[`\\^$*+|\[\]{}<>=~]")


def normalize_prompt(text: str) -> str:
    """The form two prompts must share to count as the same text (exact-match fast path):
    NFKC, runs of whitespace as one space, case folded, no sentence marks at the end (unless
    the prompt reads as code)."""
    folded = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    if _CODE_SIGNS.search(folded):
        return folded
    return _without_trailing_marks(folded) or folded


def _without_trailing_marks(text: str) -> str:
    """``text`` without the sentence marks and spaces it ends with, read from the end (a
    pattern anchored at ``$`` would be tried from every mark of a long run: quadratic)."""
    end = len(text)
    while end:
        ch = text[end - 1]
        if not (ch in _MARKS or ch.isspace()
                or (ch == "!" and not (end > 1 and text[end - 2].isdigit()))):
            break
        end -= 1
    return text[:end]


class Hasher:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._partition_key = self._derive(b"partition")
        self._exact_key = self._derive(b"exact")
        self._user_key = self._derive(b"user")
        self._idempotency_key = self._derive(b"idempotency")

    def fingerprint(self) -> str:
        """Names this secret without revealing it (kept in the database to catch a replica
        started with another secret, whose every key and entry would silently miss)."""
        return self._derive(b"fingerprint").hex()[:16]

    def _derive(self, label: bytes) -> bytes:
        return hmac.new(self._secret, b"vectorcache:" + label, hashlib.sha256).digest()

    @staticmethod
    def _mac(key: bytes, payload: object) -> str:
        data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(key, data.encode("utf-8"), hashlib.sha256).hexdigest()[:40]

    def api_key(self, key: str) -> str:
        return key_hash(self._secret, key)

    def partition(
        self,
        project_id: str,
        model: str,
        context: str | None,
        history: Sequence[Mapping[str, object]] = (),
        params: Mapping[str, object] | None = None,
        user_hash: str | None = None,
    ) -> str:
        """Everything that must be equal for a stored answer to be reusable; ``user_hash``
        (``user()``'s) for a partition of one end user's own (``service/scope.py``)."""
        payload: dict[str, object] = {
            "p": project_id, "m": model, "c": context, "h": list(history),
            "s": {k: v for k, v in (params or {}).items() if v is not None},
        }
        if user_hash is not None:  # shared partitions keep the hash they always had
            payload["u"] = user_hash
        return self._mac(self._partition_key, payload)

    def exact(self, partition: str, prompt: str) -> str:
        return self._mac(self._exact_key, [partition, normalize_prompt(prompt)])

    def user(self, project_id: str, user: str) -> str:
        return self._mac(self._user_key, [project_id, user])

    def idempotency(self, slot: Sequence[object]) -> str:
        """Names an ``Idempotency-Key``'s record shared by replicas (project, API key, the
        client's key), so Redis never holds the key itself."""
        return self._mac(self._idempotency_key, list(slot))
