"""Changing the master key: a new passphrase, a new key file, or a new ``VECTORCACHE_MASTER_KEY``.

Only the data keys are re-sealed (one transaction, ``security.encryption.rewrap``); rows stay as
they are. The order makes a crash safe to reason about: the new key material is written beside
the old (``<file>.next``) first, then the data keys are re-sealed, then the file is moved into
place and files that no longer open anything are removed. A ``.next`` left behind means a run was
interrupted between the last two steps or before the second; the next run refuses to guess and
says what to check.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from vectorcache.crypto import KdfParams
from vectorcache.errors import ConfigurationError, ValidationFailed
from vectorcache.secretfiles import write_secret_file

__all__ = ["MIN_PASSPHRASE_CHARS", "TARGETS", "NewMaster", "abandon", "finish", "prepare"]

TARGETS = ("passphrase", "key-file", "master-key")
MIN_PASSPHRASE_CHARS = 12


@dataclass(frozen=True)
class NewMaster:
    key: bytes
    target: str
    staged: Path | None = None  # written before the database changes
    final: Path | None = None  # where ``staged`` goes after
    obsolete: list[Path] = field(default_factory=list)  # open nothing afterwards: removed
    next_steps: str = ""


def _staged_paths(data_dir: Path) -> list[Path]:
    return [data_dir / "kdf.json.next", data_dir / "master.key.next"]


def prepare(data_dir: Path, target: str, secret: str | None) -> NewMaster:
    """Make (and stage) the new master key for ``target``; the database is not touched yet."""
    left = [p for p in _staged_paths(data_dir) if p.exists()]
    if left:
        raise ConfigurationError(
            f"{left[0]} is left from an interrupted re-wrap. If the server starts with the "
            f"current key, that run never committed: delete {left[0].name}. If it fails with "
            f"'does not open this database's data keys', it did: move {left[0].name} over "
            f"{left[0].name.removesuffix('.next')}. Then run this again if you still need to.")
    kdf, key_file = data_dir / "kdf.json", data_dir / "master.key"
    if target == "passphrase":
        if not secret or len(secret) < MIN_PASSPHRASE_CHARS:
            raise ValidationFailed(
                f"The new passphrase must be at least {MIN_PASSPHRASE_CHARS} characters.")
        params = KdfParams.fresh()
        staged = data_dir / "kdf.json.next"
        write_secret_file(staged, json.dumps(params.__dict__).encode())
        return NewMaster(params.derive(secret), target, staged, kdf,
                         [p for p in (key_file,) if p.exists()],
                         "Start the server with VECTORCACHE_PASSPHRASE set to the new "
                         "passphrase (and VECTORCACHE_MASTER_KEY unset).")
    if target == "key-file":
        key = Fernet.generate_key()
        staged = data_dir / "master.key.next"
        write_secret_file(staged, key)
        return NewMaster(key, target, staged, key_file, [p for p in (kdf,) if p.exists()],
                         f"Start the server with VECTORCACHE_PASSPHRASE and "
                         f"VECTORCACHE_MASTER_KEY unset: it reads {key_file}.")
    if target == "master-key":
        try:
            Fernet((secret or "").encode())
        except ValueError:
            raise ValidationFailed("The new master key must be a Fernet key; make one with: "
                                   "vectorcache encryption generate-key") from None
        return NewMaster((secret or "").encode(), target,
                         obsolete=[p for p in (key_file, kdf) if p.exists()],
                         next_steps="Start the server with VECTORCACHE_MASTER_KEY set to the "
                                    "new key (and VECTORCACHE_PASSPHRASE unset).")
    raise ValidationFailed(f"target must be one of {', '.join(TARGETS)}")


def finish(new: NewMaster) -> None:
    """After the data keys are re-sealed: the new file into place, the dead ones removed."""
    if new.staged is not None and new.final is not None:
        os.replace(new.staged, new.final)
    for path in new.obsolete:
        path.unlink(missing_ok=True)


def abandon(new: NewMaster) -> None:
    """The re-wrap failed before committing: the staged file opens nothing."""
    if new.staged is not None:
        new.staged.unlink(missing_ok=True)
