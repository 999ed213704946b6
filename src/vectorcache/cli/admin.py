"""``vectorcache admin``: console accounts, from the data directory (no server needed)."""

from __future__ import annotations

import click

from vectorcache.cli.common import read_secret_input, run_with_runtime
from vectorcache.console.models import ROLES
from vectorcache.runtime import Runtime

__all__ = ["admin", "first_owner_hint"]


@click.group()
def admin() -> None:
    """Console accounts (the dashboard at /dashboard/ and the admin API at /admin/api/)."""


@admin.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
def create_user(name: str, role: str) -> None:
    """Create a console account; the password is read from stdin (never from argv).

    \b
    Example:
      vectorcache admin create-user alice --role owner   (then type the password)
    """
    password = read_secret_input(None, "Password")

    async def action(rt: Runtime) -> str:
        user = await rt.console.accounts.create_user(name, role, password, actor="cli")
        two_factor = rt.console.accounts.two_factor_required(user)
        return (f"Created {user.role} '{user.name}'." + (
            " Their first sign-in at /dashboard/ sets up an authenticator app."
            if two_factor else ""))

    click.echo(run_with_runtime(action))


async def first_owner_hint(rt: Runtime) -> list[str]:
    """What ``serve`` prints while no console account exists."""
    if await rt.console.records.count_users() > 0:
        return []
    return ["No console account yet. Create the first owner, then sign in at /dashboard/:",
            "  vectorcache admin create-user NAME --role owner   (password on stdin)"]
