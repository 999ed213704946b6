"""End users' rights: erase everything of one user, or export it (decrypted) as JSON.

An end user is the ``user`` field of a request; rows carry only ``user_hash``, an HMAC of
(project, user) under the server secret. The audit log records that an erasure or export
happened and how much it touched, never who: after an erasure, no table holds the user.
Built once by ``runtime.Runtime`` (``runtime.users``).
"""

from __future__ import annotations

from typing import Any

from vectorcache.clock import to_iso
from vectorcache.errors import ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.service.auth import Principal
from vectorcache.service.events import EventWriter
from vectorcache.store import Store

__all__ = ["UserData"]


class UserData:
    def __init__(self, store: Store, hasher: Hasher, events: EventWriter) -> None:
        self._store = store
        self._hasher = hasher
        self._events = events

    def _hash(self, principal: Principal, user: str) -> str:
        if not user or len(user) > 256:
            raise ValidationFailed("user must be 1..256 characters", param="user")
        return self._hasher.user(principal.project.id, user)

    async def erase(self, principal: Principal, user: str) -> dict[str, int]:
        user_hash = self._hash(principal, user)
        await self._events.flush()  # events still buffered must not land after the erase
        entries, events = await self._store.erase_user(user_hash)
        await self._store.add_audit("user.erase", project_id=principal.project.id,
                                    actor=principal.actor, target=None,
                                    details={"entries": entries, "events": events},
                                    client_ip=principal.client_ip)
        return {"entries_deleted": entries, "events_deleted": events}

    async def export(self, principal: Principal, user: str) -> dict[str, Any]:
        rows = await self._store.entries_for_user(self._hash(principal, user))
        entries = [{
            "id": e.id, "model": e.model, "prompt": e.prompt, "response": e.response,
            "context": e.context, "metadata": e.metadata, "created_at": to_iso(e.created_at),
            "expires_at": to_iso(e.expires_at), "hit_count": e.hit_count,
            "prompt_tokens": e.usage.prompt_tokens,
            "completion_tokens": e.usage.completion_tokens, **e.conversation(),
        } for e in rows if e.project_id == principal.project.id]
        await self._store.add_audit("user.export", project_id=principal.project.id,
                                    actor=principal.actor, target=None,
                                    details={"entries": len(entries)},
                                    client_ip=principal.client_ip)
        return {"user": user, "project_id": principal.project.id, "entries": entries,
                "total": len(entries)}
