"""``vectorcache``: run the server and manage projects, keys and providers (no server needed)."""

from __future__ import annotations

import os
import sys

import click
from pydantic import ValidationError

from vectorcache import __version__
from vectorcache.cli.admin import admin
from vectorcache.cli.analytics import analytics
from vectorcache.cli.audit import audit
from vectorcache.cli.cache import cache
from vectorcache.cli.encryption import encryption
from vectorcache.cli.keys import keys
from vectorcache.cli.projects import projects, providers
from vectorcache.cli.serve import serve
from vectorcache.redaction import mask_text, mask_url_credentials, secret_values
from vectorcache.settings import Settings

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


for command in (serve, projects, keys, providers, cache, encryption, audit, admin, analytics):
    cli.add_command(command)


def _secret_setting(field: str) -> bool:
    info = Settings.model_fields.get(field)
    typed = "SecretStr" in str(info.annotation) if info is not None else False
    return typed or any(word in field for word in ("secret", "key", "passphrase", "password",
                                                   "token"))


def settings_problem(exc: ValidationError) -> str:
    """A bad ``VECTORCACHE_*`` value, in one line per setting (no traceback). The value of a
    secret setting is never quoted, nor a password in a URL."""
    lines = []
    for error in exc.errors():
        field = "_".join(str(p) for p in error["loc"])
        name = "VECTORCACHE_" + field.upper()
        if _secret_setting(field.lower()):
            shown = f"<hidden, {len(str(error.get('input') or ''))} characters>"
        else:
            shown = mask_url_credentials(repr(error.get("input")))
        lines.append(f"{name}={shown}: {error['msg']}")
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
        masked = mask_text(exc.message, secret_values(os.environ))
        if masked == exc.message:
            exc.show()
        else:
            click.echo(f"Error: {masked}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a library's message may quote a secret setting
        message = mask_text(str(exc), secret_values(os.environ))
        click.echo(f"Error: {type(exc).__name__}: {message}", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:  # a command's ctx.exit(code)
        sys.exit(code)
