"""Data-key rotation, shared by the CLI and the tests.

``rotate`` adds a new data key, makes it active, and re-encrypts every row under it in batches,
each batch its own transaction. Interrupted, it resumes with ``new_key=False``: rows are picked
by ``kid IS NOT <active>``, so nothing is done twice and nothing is missed. A running server
keeps reading old rows (it still holds the old keys), loads the new key the first time it reads
a row sealed under it, and checks the active key inside every encrypting write, so rows it
writes after the rotation began are sealed under the new key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vectorcache.store import Store

__all__ = ["RotationReport", "retire", "rewrap", "rotate"]


@dataclass(frozen=True)
class RotationReport:
    old_kid: str
    new_kid: str
    rows: int


async def rotate(store: Store, *, new_key: bool = True, batch: int = 500,
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 max_batches: int | None = None, actor: str = "cli") -> RotationReport:
    """Re-encrypt every row under a (new) active data key; ``max_batches`` stops early."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    await store.reload_keys()
    old = store.cipher.active_kid
    kid = await store.add_data_key() if new_key else old
    if on_total is not None:
        on_total(await store.pending_reencryption())
    done = batches = 0
    while max_batches is None or batches < max_batches:
        moved = await store.reencrypt_batch(batch)
        if not moved:
            break
        done += moved
        batches += 1
        if progress is not None:
            progress(moved)
    await store.add_audit("encryption.rotate" if new_key else "encryption.resume",
                          project_id=None, actor=actor, target=store.cipher.active_kid,
                          details={"previous_kid": old, "rows": done})
    return RotationReport(old_kid=old, new_kid=kid, rows=done)


async def retire(store: Store, kid: str, *, actor: str = "cli") -> None:
    """Destroy a data key; refused while it is active or any row still uses it."""
    await store.retire_data_key(kid)
    await store.add_audit("encryption.retire", project_id=None, actor=actor, target=kid)


async def rewrap(store: Store, new_master: bytes, *, target: str, actor: str = "cli") -> int:
    """Seal every data key under ``new_master`` (all or nothing). The data keys, and so every
    row, stay as they are: a passphrase or master-key change costs one small transaction.
    A running server keeps the keys it holds; restart it with the new master key."""
    count = await store.rewrap_data_keys(new_master)
    await store.add_audit("encryption.rewrap", project_id=None, actor=actor, target=target,
                          details={"data_keys": count})
    return count
