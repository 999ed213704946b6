"""``vectorcache keys``: create (shown once), list, revoke, rotate, update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from vectorcache.bounds import MAX_QUOTA_REQUESTS, MAX_RATE_LIMIT_PER_MINUTE
from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.clock import from_iso, to_iso
from vectorcache.models import ALL_SCOPES, ENVIRONMENTS, ApiKey, NewApiKey
from vectorcache.runtime import Runtime
from vectorcache.service.scope import CACHE_SCOPES

__all__ = ["key_row", "keys"]


def key_row(key: ApiKey) -> dict[str, Any]:
    """A key as shown to people: never its hash."""
    return {
        "id": key.id, "prefix": key.prefix, "name": key.name, "status": key.status,
        "scopes": ",".join(key.scopes), "models": ",".join(key.models) or None,
        "created": to_iso(key.created_at), "last_used": to_iso(key.last_used_at),
        "requests": key.request_count, "expires": to_iso(key.expires_at),
        "allowed_ips": ",".join(key.allowed_ips) or None,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "quota": None if key.quota_requests is None else
        f"{key.quota_requests}/{key.quota_period}",
        "revoked_at": to_iso(key.revoked_at),
        "cache_scope": key.cache_scope or "project", "environment": key.environment,
        "rotation_due": to_iso(key.rotation_due_at),
        "rotated_at": to_iso(key.rotated_at), "replaced_by": key.replaced_by,
    }


def _parse_expiry(expires: str | None, hint: str = "--expires") -> datetime | None:
    if not expires:
        return None
    try:
        return from_iso(expires.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("must be ISO-8601", param_hint=hint) from None


def _echo_new_key(created: NewApiKey, verb: str, as_json: bool) -> None:
    if as_json:
        print_json({**key_row(created.record), "key": created.key})
        return
    click.echo(f"{verb} key {created.record.prefix} (id {created.record.id}). "
               "It is shown only now:", err=True)
    click.echo(created.key)


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
@click.option("--allow-ip", "allow_ips", multiple=True,
              help="Client IP or CIDR allowed to use the key (repeatable; IPv4 or IPv6).")
@click.option("--expires", default=None, help="Expiry, ISO-8601 (e.g. 2027-01-31T00:00:00Z).")
@click.option("--rate-limit", type=click.IntRange(1, MAX_RATE_LIMIT_PER_MINUTE), default=None,
              help="Requests per minute for this key.")
@click.option("--quota", type=click.IntRange(1, MAX_QUOTA_REQUESTS), default=None,
              help="Requests per --quota-period.")
@click.option("--quota-period", type=click.Choice(["day", "month"]), default="day",
              show_default=True)
@click.option("--cache-scope", type=click.Choice(CACHE_SCOPES), default=None,
              help="Override the project's cache scope: shared, or user (each end user is "
                   "answered from their own entries only).")
@click.option("--environment", type=click.Choice(ENVIRONMENTS), default="production",
              show_default=True,
              help="What the key is for: picks the project's rotation period (see "
                   "'projects update --rotation-days-*').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_key(project_ref: str, name: str, scopes: str | None, models: str | None,
               allow_ips: tuple[str, ...], expires: str | None, rate_limit: int | None,
               quota: int | None, quota_period: str, cache_scope: str | None,
               environment: str, as_json: bool) -> None:
    """Create a key; the key alone is printed on the last line.

    \b
    Examples:
      KEY=$(vectorcache keys create --project default --name ci | tail -n1)
      vectorcache keys create --project shop --name reader --scopes cache:read \\
          --models gpt-4o-mini --allow-ip 10.0.0.0/8 --rate-limit 60 --quota 10000
      vectorcache keys create --project shop --name laptop --environment development
    """
    expires_at = _parse_expiry(expires)

    async def action(rt: Runtime) -> NewApiKey:
        project = await rt.admin.project(project_ref)
        return await rt.admin.create_key(
            project, name=name, scopes=_split(scopes) or ALL_SCOPES, models=_split(models),
            allowed_ips=allow_ips, expires_at=expires_at, rate_limit_per_minute=rate_limit,
            quota_requests=quota, quota_period=quota_period if quota else None,
            cache_scope=cache_scope, environment=environment)

    _echo_new_key(run_with_runtime(action), "Created", as_json)


@keys.command("list")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_keys(project_ref: str, as_json: bool) -> None:
    """List a project's keys: prefix, name, environment, created, last used, request count,
    status, and when each is due for rotation."""

    async def action(rt: Runtime) -> list[ApiKey]:
        return await rt.admin.list_keys(await rt.admin.project(project_ref))

    rows = [key_row(k) for k in run_with_runtime(action)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "prefix", "name", "environment", "status", "created",
                           "last_used", "requests", "rotation_due"])


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


@keys.command("rotate")
@click.argument("key_ref")
@click.option("--grace-seconds", type=click.IntRange(0, 30 * 86400), default=0,
              show_default=True, help="How long the old key keeps working.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rotate_key(key_ref: str, grace_seconds: int, as_json: bool) -> None:
    """Replace a key with a new one holding the same rights (the new key is printed once).

    \b
    Example:
      NEW=$(vectorcache keys rotate vc_1a2b3c4d --grace-seconds 3600 | tail -n1)
    """

    async def action(rt: Runtime) -> NewApiKey:
        return await rt.admin.rotate_key(key_ref, grace_seconds=grace_seconds)

    _echo_new_key(run_with_runtime(action), "Rotated to", as_json)


@keys.command("update")
@click.argument("key_ref")
@click.option("--name", default=None, help="A new label.")
@click.option("--scopes", default=None, help="Comma-separated scopes.")
@click.option("--models", default=None, help="Comma-separated models ('' for any).")
@click.option("--allow-ip", "allow_ips", multiple=True, help="Replaces the IP allow-list.")
@click.option("--any-ip", is_flag=True, help="Remove the IP allow-list.")
@click.option("--expires", default=None, help="ISO-8601 expiry ('never' to remove).")
@click.option("--rate-limit", type=click.IntRange(0, MAX_RATE_LIMIT_PER_MINUTE), default=None,
              help="Requests per minute (0 to remove).")
@click.option("--quota", type=click.IntRange(0, MAX_QUOTA_REQUESTS), default=None,
              help="Requests per --quota-period (0 to remove).")
@click.option("--quota-period", type=click.Choice(["day", "month"]), default="day",
              show_default=True)
@click.option("--cache-scope", type=click.Choice([*CACHE_SCOPES, "project"]), default=None,
              help="shared, user, or project (follow the project's setting).")
def update_key(key_ref: str, name: str | None, scopes: str | None, models: str | None,
               allow_ips: tuple[str, ...], any_ip: bool, expires: str | None,
               rate_limit: int | None, quota: int | None, quota_period: str,
               cache_scope: str | None) -> None:
    """Change a key's name or rights; only the options given change."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if scopes is not None:
        changes["scopes"] = _split(scopes)
    if models is not None:
        changes["models"] = _split(models)
    if allow_ips or any_ip:
        changes["allowed_ips"] = () if any_ip else allow_ips
    if expires is not None:
        changes["expires_at"] = None if expires == "never" else _parse_expiry(expires)
    if rate_limit is not None:
        changes["rate_limit_per_minute"] = rate_limit or None
    if quota is not None:
        changes["quota_requests"] = quota or None
        changes["quota_period"] = quota_period if quota else None
    if cache_scope is not None:
        changes["cache_scope"] = None if cache_scope == "project" else cache_scope
    if not changes:
        raise click.UsageError("Nothing to change; see --help.")

    async def action(rt: Runtime) -> ApiKey:
        return await rt.admin.update_key(key_ref, **changes)

    record = run_with_runtime(action)
    click.echo(f"Updated {record.prefix} (id {record.id}): {', '.join(sorted(changes))}.")
