"""Data keys wrapped by the master key, and the ``Cipher`` built from them (backend-agnostic)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from vectorcache.crypto import Cipher, new_data_key
from vectorcache.errors import ConfigurationError

__all__ = ["WrappedKey", "wrap_new_key", "build_cipher", "new_kid"]


@dataclass(frozen=True)
class WrappedKey:
    kid: str
    wrapped: bytes
    active: bool
    retired: bool = False


def new_kid() -> str:
    return "dk_" + secrets.token_hex(4)


def wrap_new_key(master_key: bytes) -> tuple[str, bytes]:
    """A fresh data key id and the data key sealed under the master key."""
    return new_kid(), Fernet(master_key).encrypt(new_data_key())


def build_cipher(master_key: bytes, keys: Iterable[WrappedKey]) -> Cipher:
    master = Fernet(master_key)
    plain: dict[str, bytes] = {}
    active: str | None = None
    for key in keys:
        if key.retired:
            continue
        try:
            plain[key.kid] = master.decrypt(key.wrapped)
        except InvalidToken:
            raise ConfigurationError(
                "The master key does not open this database's data keys. Check "
                "VECTORCACHE_MASTER_KEY / VECTORCACHE_PASSPHRASE or the data dir's master.key."
            ) from None
        if key.active:
            active = key.kid
    if active is None:
        raise ConfigurationError("No active data key in the database.")
    return Cipher(plain, active)
