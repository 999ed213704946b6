"""``vectorcache audit``: the append-only audit log, newest first."""

from __future__ import annotations

from typing import Any

import click

from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.clock import to_iso
from vectorcache.models import AuditEvent
from vectorcache.runtime import Runtime

__all__ = ["audit"]


@click.command("audit")
@click.option("--project", "project_ref", default=None,
              help="Project name or id (default: every project, and server-wide events).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit(project_ref: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log: key and provider changes, erasures, exports, rotations, failed
    authentications (key prefix only).

    \b
    Examples:
      vectorcache audit --project shop --limit 20
      vectorcache audit --json | jq '.[] | select(.action == "auth.failure")'
    """

    async def action(rt: Runtime) -> list[AuditEvent]:
        project_id = None if project_ref is None else (await rt.admin.project(project_ref)).id
        return await rt.store.list_audit(project_id, limit)

    rows: list[dict[str, Any]] = [
        {"id": e.id, "at": to_iso(e.at), "action": e.action, "project_id": e.project_id,
         "actor": e.actor, "client_ip": e.client_ip, "target": e.target,
         "details": e.details}
        for e in run_with_runtime(action)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["at", "action", "actor", "client_ip", "target", "details"])
