"""``vectorcache``: run the server and manage projects, keys and providers (no server needed)."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from vectorcache import __version__
from vectorcache.cli.audit import audit
from vectorcache.cli.cache import cache
from vectorcache.cli.encryption import encryption
from vectorcache.cli.keys import keys
from vectorcache.cli.projects import projects, providers
from vectorcache.cli.serve import serve

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vectorcache")
def cli() -> None:
    """Vectorcache: a self-hosted semantic cache and secure gateway for LLM APIs.

    State lives in $VECTORCACHE_DATA_DIR (default ./.vectorcache). Every command below works
    on that state directly, with or without the server running.

    \b
    Examples:
      vectorcache serve --port 8000
      vectorcache keys create --project default --name ci
      echo "$OPENAI_API_KEY" | vectorcache providers set --project default --provider openai
    """


for command in (serve, projects, keys, providers, cache, encryption, audit):
    cli.add_command(command)


def settings_problem(exc: ValidationError) -> str:
    """A bad ``VECTORCACHE_*`` value, in one line per setting (no traceback)."""
    lines = []
    for error in exc.errors():
        name = "VECTORCACHE_" + "_".join(str(p) for p in error["loc"]).upper()
        lines.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "Invalid settings:\n  " + "\n  ".join(lines)


def main() -> None:
    try:
        code = cli(prog_name="vectorcache", standalone_mode=False)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        click.echo(settings_problem(exc), err=True)  # the environment or .env
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:  # a command's ctx.exit(code)
        sys.exit(code)
