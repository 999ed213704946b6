"""``vectorcache keys``: create (shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.clock import from_iso, to_iso
from vectorcache.models import ALL_SCOPES, ApiKey
from vectorcache.runtime import Runtime

__all__ = ["keys", "key_row"]


def key_row(key: ApiKey) -> dict[str, Any]:
    """A key as shown to people: never its hash."""
    return {
        "id": key.id, "prefix": key.prefix, "name": key.name, "status": key.status,
        "scopes": ",".join(key.scopes), "models": ",".join(key.models) or None,
        "created": to_iso(key.created_at), "last_used": to_iso(key.last_used_at),
        "requests": key.request_count, "expires": to_iso(key.expires_at),
    }


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@click.group()
def keys() -> None:
    """Project API keys (vc_…): shown once at creation, stored only as a keyed hash."""


@keys.command("create")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option("--scopes", default=None,
              help=f"Comma-separated scopes (default: all). Known: {', '.join(ALL_SCOPES)}, "
                   "cache:*, *.")
@click.option("--models", default=None, help="Comma-separated models this key may use.")
@click.option("--expires", default=None, help="Expiry, ISO-8601 (e.g. 2027-01-31T00:00:00Z).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_key(project_ref: str, name: str, scopes: str | None, models: str | None,
               expires: str | None, as_json: bool) -> None:
    """Create a key; the key alone is printed on the last line.

    \b
    Example:
      KEY=$(vectorcache keys create --project default --name ci | tail -n1)
    """
    try:
        expires_at: datetime | None = from_iso(expires.replace("Z", "+00:00")) if expires \
            else None
    except ValueError:
        raise click.BadParameter("must be ISO-8601", param_hint="--expires") from None

    async def action(rt: Runtime) -> Any:
        project = await rt.admin.project(project_ref)
        return await rt.admin.create_key(project, name=name,
                                         scopes=_split(scopes) or ALL_SCOPES,
                                         models=_split(models), expires_at=expires_at)

    created = run_with_runtime(action)
    if as_json:
        print_json({**key_row(created.record), "key": created.key})
        return
    click.echo(f"Created key {created.record.prefix} (id {created.record.id}) for project "
               f"{project_ref!r}. It is shown only now:", err=True)
    click.echo(created.key)


@keys.command("list")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_keys(project_ref: str, as_json: bool) -> None:
    """List a project's keys: prefix, name, created, last used, request count, status."""

    async def action(rt: Runtime) -> list[ApiKey]:
        return await rt.admin.list_keys(await rt.admin.project(project_ref))

    rows = [key_row(k) for k in run_with_runtime(action)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "prefix", "name", "status", "created", "last_used",
                           "requests"])


@keys.command("revoke")
@click.argument("key_ref")
def revoke_key(key_ref: str) -> None:
    """Revoke a key at once, by id, displayed prefix, or the full key (for a leaked key).

    \b
    Examples:
      vectorcache keys revoke 3f1c2d9e-…
      vectorcache keys revoke vc_1a2b3c4d
      vectorcache keys revoke "$LEAKED_KEY"
    """

    async def action(rt: Runtime) -> ApiKey:
        return await rt.admin.revoke_key(key_ref)

    record = run_with_runtime(action)
    click.echo(f"Revoked {record.prefix} (id {record.id}).")
