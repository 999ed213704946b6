"""Deleting a project, which the console adds to the management actions: owners and admins
only, with the project's name typed back as confirmation; its entries go first (through the
store, so the vector index forgets them), then the row (keys, provider key, memberships and
key requests follow it). The audit log keeps its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vectorcache.console.access import Actor
from vectorcache.console.audit import ConsoleAudit
from vectorcache.errors import ValidationFailed
from vectorcache.models import Project
from vectorcache.store import Store

__all__ = ["delete_project"]


async def delete_project(store: Store, audit: ConsoleAudit, actor: Actor, project: Project,
                         confirm: str, clock: Callable[[], datetime]) -> int:
    """How many entries went with it."""
    actor.require_admin()
    if confirm != project.name:
        raise ValidationFailed(f"Type the project's name ({project.name!r}) to confirm",
                               code="confirmation_mismatch", param="confirm")
    entries, _ = await store.clear(project.id, expired_only=False, older_than=None, now=clock())
    await store.db.write(lambda c: c.execute("DELETE FROM projects WHERE id = ?", (project.id,)))
    await audit.record("project.delete", actor=actor.name, ip=actor.ip, project_id=project.id,
                       target=project.id, name=project.name, entries=entries)
    return entries
