"""Every console action in the store's append-only audit log: who, from where, and the outcome."""

from __future__ import annotations

from vectorcache.store import Store

__all__ = ["ConsoleAudit"]


class ConsoleAudit:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, action: str, *, actor: str, ip: str | None, outcome: str = "ok",
                     project_id: str | None = None, target: str | None = None,
                     **details: object) -> None:
        await self._store.add_audit(action, project_id=project_id, actor=actor, target=target,
                                    details={"client_ip": ip, "outcome": outcome, **details},
                                    client_ip=ip)
