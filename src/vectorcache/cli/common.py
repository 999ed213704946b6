"""What every CLI command shares: settings, a management runtime, errors as messages, output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click

from vectorcache.errors import VectorcacheError
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings

__all__ = ["print_json", "print_table", "read_secret_input", "run_with_runtime"]

T = TypeVar("T")


def run_with_runtime(action: Callable[[Runtime], Awaitable[T]], *,
                     with_embedder: bool = False, master_key: bytes | None = None) -> T:
    """Open the data dir's state (no model unless asked), run ``action``, close cleanly."""

    async def main() -> T:
        async with Runtime.open(Settings(), with_embedder=with_embedder,
                                master_key=master_key) as rt:
            return await action(rt)

    try:
        return asyncio.run(main())
    except VectorcacheError as exc:
        raise click.ClickException(exc.detail) from None


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def read_secret_input(env_value: str | None, what: str) -> str:
    """A secret from an environment variable or stdin, never from argv."""
    if env_value:
        return env_value.strip()
    if sys.stdin.isatty():
        value: str = click.prompt(what, hide_input=True)
        return value.strip()
    value = sys.stdin.readline().strip()
    if not value:
        raise click.ClickException(f"No {what} given on stdin.")
    return value
