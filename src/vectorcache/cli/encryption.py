"""``vectorcache encryption``: data-key status, rotation (resumable, no downtime), retirement."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from typing import Any

import click
from cryptography.fernet import Fernet

from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.clock import to_iso
from vectorcache.crypto import load_master_key
from vectorcache.errors import VectorcacheError
from vectorcache.models import DataKeyInfo
from vectorcache.runtime import Runtime
from vectorcache.security import rewrap as master
from vectorcache.security.encryption import RotationReport, retire, rewrap, rotate
from vectorcache.settings import Settings

__all__ = ["encryption"]


@click.group()
def encryption() -> None:
    """Encryption at rest: data keys wrapped by the master key, rotated without downtime."""


@encryption.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Data keys, the rows each still encrypts, and rows waiting for re-encryption."""

    async def action(rt: Runtime) -> tuple[list[DataKeyInfo], int]:
        return await rt.store.data_keys(), await rt.store.pending_reencryption()

    keys, pending = run_with_runtime(action)
    settings = Settings()
    kdf = settings.data_dir / "kdf.json"
    source = ("VECTORCACHE_MASTER_KEY" if settings.master_key is not None else
              "passphrase (PBKDF2-HMAC-SHA256, "
              f"{json.loads(kdf.read_text())['iterations']} iterations)"
              if settings.passphrase is not None and kdf.exists() else "data_dir/master.key")
    rows: list[dict[str, Any]] = [
        {"kid": k.kid, "active": k.active, "created": to_iso(k.created_at),
         "retired": to_iso(k.retired_at), "rows": k.rows} for k in keys]
    if as_json:
        print_json({"master_key": source, "pending_rows": pending, "data_keys": rows})
        return
    click.echo(f"Master key: {source}")
    print_table(rows, ["kid", "active", "created", "retired", "rows"])
    click.echo(f"Rows not under the active key: {pending}")


@encryption.command("rotate")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted rotation: re-encrypt the remaining rows under the "
                   "current active key, without adding a new key.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Rows per transaction.")
def rotate_keys(resume: bool, batch_size: int) -> None:
    """Add a new data key, make it active, and re-encrypt every row under it.

    Safe while the server runs: it keeps reading rows under the old key, and picks up the
    new one on its own. Interrupted? Run it again with --resume. When no rows are left under
    the old key (see 'encryption status'), destroy it with 'encryption retire KID'.

    \b
    Examples:
      vectorcache encryption rotate
      vectorcache encryption rotate --resume --batch-size 2000
    """

    async def action(rt: Runtime) -> RotationReport:
        with ExitStack() as stack:
            bars: list[Any] = []

            def start(total: int) -> None:
                bars.append(stack.enter_context(click.progressbar(
                    length=max(total, 1), label="Re-encrypting rows", file=sys.stderr)))

            def advance(rows: int) -> None:
                for bar in bars:
                    bar.update(rows)

            return await rotate(rt.store, new_key=not resume, batch=batch_size,
                                on_total=start, progress=advance)

    report = run_with_runtime(action)
    if resume:
        click.echo(f"Re-encrypted {report.rows} rows under {report.new_kid}.")
    else:
        click.echo(f"Active data key is now {report.new_kid} (was {report.old_kid}); "
                   f"re-encrypted {report.rows} rows.")


@encryption.command("retire")
@click.argument("kid")
def retire_key(kid: str) -> None:
    """Destroy data key KID; refused while it is active or any row still uses it."""

    async def action(rt: Runtime) -> None:
        await retire(rt.store, kid)

    run_with_runtime(action)
    click.echo(f"Retired data key {kid}.")


@encryption.command("rewrap")
@click.option("--to", "target", type=click.Choice(master.TARGETS), required=True,
              help="passphrase: a new VECTORCACHE_PASSPHRASE (fresh salt, 600,000 PBKDF2 "
                   "iterations); key-file: a new master.key in the data dir; master-key: a new "
                   "VECTORCACHE_MASTER_KEY.")
def rewrap_keys(target: str) -> None:
    """Seal the data keys under a new master key (rows are not touched; one transaction).

    The current master key comes from the usual settings (weak PBKDF2 parameters are accepted
    here, to move away from them). The new passphrase or key is read from
    $VECTORCACHE_NEW_PASSPHRASE / $VECTORCACHE_NEW_MASTER_KEY, else asked for (hidden)."""
    secret: str | None = None
    if target == "passphrase":
        secret = os.environ.get("VECTORCACHE_NEW_PASSPHRASE") or click.prompt(
            "New passphrase", hide_input=True, confirmation_prompt=True)
    elif target == "master-key":
        secret = os.environ.get("VECTORCACHE_NEW_MASTER_KEY") or click.prompt(
            "New master key (vectorcache encryption generate-key)", hide_input=True)
    settings = Settings()
    try:
        current = load_master_key(settings, allow_weak_kdf=True)
        new = master.prepare(settings.data_dir, target, secret)
    except VectorcacheError as exc:
        raise click.ClickException(exc.detail) from None

    async def action(rt: Runtime) -> int:
        return await rewrap(rt.store, new.key, target=target)

    try:
        count = run_with_runtime(action, master_key=current)
    except BaseException:
        master.abandon(new)  # nothing committed: the staged key opens nothing
        raise
    master.finish(new)
    click.echo(f"Re-wrapped {count} data key(s) under the new master key. {new.next_steps} "
               "Restart running servers with it (they keep working until then).")


@encryption.command("generate-key")
def generate_key() -> None:
    """Print a new random master key (for VECTORCACHE_MASTER_KEY); store it like a password."""
    click.echo(Fernet.generate_key().decode())
