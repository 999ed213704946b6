"""Encryption at rest: a ``Cipher`` over Fernet data keys, each with an id stored on every row.

Key hierarchy (envelope encryption):

* the *master key* (key-encryption key) comes from ``VECTORCACHE_MASTER_KEY``, from a
  passphrase through PBKDF2-HMAC-SHA256, or from ``<data_dir>/master.key`` (generated on first
  start, mode 0600). It never touches the database.
* *data keys* encrypt rows. They are stored in the database wrapped by the master key, so a new
  data key can be added and rows re-encrypted without changing the master key.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from vectorcache.errors import ConfigurationError
from vectorcache.secretfiles import read_or_create_secret, write_secret_file
from vectorcache.settings import Settings

__all__ = ["PBKDF2_MIN_ITERATIONS", "Cipher", "KdfParams", "load_master_key", "new_data_key"]

PBKDF2_MIN_ITERATIONS = 600_000


class Cipher:
    """Encrypts with the active data key; decrypts with whichever key id a row names.

    A row whose key id is ``None`` was written before encryption was on and is returned as is.
    """

    def __init__(self, keys: Mapping[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise ConfigurationError(f"Active data key {active_kid!r} is not in the key ring.")
        self._keys = dict(keys)
        self._fernets = {kid: Fernet(key) for kid, key in keys.items()}
        self.active_kid = active_kid

    @property
    def key_ids(self) -> list[str]:
        return list(self._fernets)

    def data_key(self, kid: str) -> bytes:
        return self._keys[kid]

    def encrypt(self, data: bytes) -> bytes:
        return self._fernets[self.active_kid].encrypt(data)

    def decrypt(self, kid: str | None, token: bytes) -> bytes:
        if kid is None:
            return token
        fernet = self._fernets.get(kid)
        if fernet is None:
            raise ConfigurationError(f"Data key {kid!r} is not loaded; was it retired too early?")
        try:
            return fernet.decrypt(token)
        except InvalidToken as exc:
            raise ConfigurationError(f"Ciphertext does not match data key {kid!r}.") from exc

    def encrypt_text(self, text: str | None) -> bytes | None:
        return None if text is None else self.encrypt(text.encode("utf-8"))

    def decrypt_text(self, kid: str | None, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(kid, token).decode("utf-8")


def new_data_key() -> bytes:
    return Fernet.generate_key()


@dataclass(frozen=True)
class KdfParams:
    salt: str
    iterations: int
    algorithm: str = "pbkdf2-hmac-sha256"

    @classmethod
    def fresh(cls, iterations: int = PBKDF2_MIN_ITERATIONS) -> KdfParams:
        return cls(salt=base64.b64encode(secrets.token_bytes(16)).decode(), iterations=iterations)

    def derive(self, passphrase: str) -> bytes:
        kdf = PBKDF2HMAC(
            algorithm=hashes.SHA256(),
            length=32,
            salt=base64.b64decode(self.salt),
            iterations=self.iterations,
        )
        return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def _load_kdf_params(path: Path, allow_weak: bool = False) -> KdfParams:
    if path.exists():
        params = KdfParams(**json.loads(path.read_text()))
        if params.iterations < PBKDF2_MIN_ITERATIONS and not allow_weak:
            raise ConfigurationError(
                f"PBKDF2 iterations {params.iterations} in {path} are below the "
                f"{PBKDF2_MIN_ITERATIONS} minimum, so the passphrase is refused. Re-wrap the "
                "data keys under a fresh derivation (this one command accepts the old "
                "parameters): vectorcache encryption rewrap --to passphrase"
            )
        return params
    params = KdfParams.fresh()
    write_secret_file(path, json.dumps(params.__dict__).encode())
    return params


def load_master_key(settings: Settings, *, allow_weak_kdf: bool = False) -> bytes:
    """The key-encryption key, from the environment, a passphrase, or the data dir's key file.

    ``allow_weak_kdf`` accepts stored PBKDF2 parameters below today's minimum: only to re-wrap
    the data keys away from them."""
    if settings.master_key is not None:
        key = settings.master_key.get_secret_value().encode()
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigurationError(
                "VECTORCACHE_MASTER_KEY must be a Fernet key (32 bytes, urlsafe base64); "
                "make one with: vectorcache encryption generate-key"
            ) from exc
        return key
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.passphrase is not None:
        params = _load_kdf_params(settings.data_dir / "kdf.json", allow_weak_kdf)
        return params.derive(settings.passphrase.get_secret_value())
    return read_or_create_secret(settings.data_dir / "master.key", Fernet.generate_key)
