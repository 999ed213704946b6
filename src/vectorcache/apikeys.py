"""Project API keys: ``vc_`` + 32 lowercase hex (128 random bits), stored only as HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["KEY_PATTERN", "display_prefix", "generate_key", "is_well_formed", "key_hash"]

KEY_PATTERN = re.compile(r"vc_[0-9a-f]{32}")
_PREFIX_CHARS = 8  # "vc_" + 8 hex shown in listings: 32 bits, not enough to guess the rest


def generate_key() -> str:
    return "vc_" + secrets.token_hex(16)


def is_well_formed(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def key_hash(secret: bytes, key: str) -> str:
    """The keyed hash stored for a key; lookups compare these, never keys."""
    return hmac.new(secret, key.encode("ascii"), hashlib.sha256).hexdigest()


def display_prefix(key: str) -> str:
    return key[: 3 + _PREFIX_CHARS] + "…"
