"""Data keys wrapped by the master key, and the ``Cipher`` built from them (backend-agnostic)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken

from vectorcache.crypto import Cipher, new_data_key
from vectorcache.errors import ConfigurationError

__all__ = ["KeyRing", "WrappedKey", "build_cipher", "new_kid", "open_sealed", "rewrap_key",
           "wrap_new_key"]


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


def rewrap_key(old_master: bytes, new_master: bytes, key: WrappedKey) -> bytes:
    """``key`` sealed under ``new_master`` instead (the data key itself is unchanged)."""
    try:
        plain = Fernet(old_master).decrypt(key.wrapped)
    except InvalidToken:
        raise ConfigurationError(
            f"The current master key does not open data key {key.kid}: nothing was changed."
        ) from None
    return Fernet(new_master).encrypt(plain)


def build_cipher(master_key: bytes, keys: Iterable[WrappedKey],
                 known: Cipher | None = None) -> Cipher:
    """The cipher over ``keys``; data keys ``known`` already (a running server's) are reused,
    so a process started before a re-wrap keeps working with the keys it holds."""
    master = Fernet(master_key)
    plain: dict[str, bytes] = {}
    active: str | None = None
    for key in keys:
        if key.retired:
            continue
        if known is not None and key.kid in known.key_ids:
            plain[key.kid] = known.data_key(key.kid)
            if key.active:
                active = key.kid
            continue
        try:
            plain[key.kid] = master.decrypt(key.wrapped)
        except InvalidToken:
            raise ConfigurationError(
                "The master key does not open this database's data keys. Check "
                "VECTORCACHE_MASTER_KEY, or VECTORCACHE_PASSPHRASE and the data dir's kdf.json "
                "(its salt: every replica needs the same file), or the data dir's master.key."
            ) from None
        if key.active:
            active = key.kid
    if active is None:
        raise ConfigurationError("No active data key in the database.")
    return Cipher(plain, active)


class KeyRing(Protocol):
    """Whoever holds the data keys (the ``Store``): its cipher is replaced when the keys
    rotate, so it is read at each use, never kept."""

    cipher: Cipher

    async def reload_keys(self) -> None: ...


async def open_sealed(ring: KeyRing, kid: str | None, sealed: bytes) -> bytes:
    """Decrypt what was sealed under data key ``kid``, first re-reading the key ring when
    ``kid`` was added after this process loaded it (another replica rotated the keys)."""
    if kid is not None and kid not in ring.cipher.key_ids:
        await ring.reload_keys()
    return ring.cipher.decrypt(kid, sealed)
