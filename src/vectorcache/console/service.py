"""The console's services, built once per runtime from the store, the hasher and settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vectorcache.console.access import Actor
from vectorcache.console.accounts import Accounts
from vectorcache.console.approvals import KeyApprovals
from vectorcache.console.audit import ConsoleAudit
from vectorcache.console.counts import EntryCounts
from vectorcache.console.models import User
from vectorcache.console.passwords import Passwords
from vectorcache.console.records import ConsoleRecords
from vectorcache.console.sessions import Sessions
from vectorcache.console.throttle import LoginThrottle
from vectorcache.console.tokens import AdminTokens
from vectorcache.errors import NotFound
from vectorcache.hashing import Hasher
from vectorcache.service.admin import AdminService
from vectorcache.settings import Settings
from vectorcache.store import Store

__all__ = ["Console"]


class Console:
    def __init__(self, store: Store, hasher: Hasher, admin: AdminService, settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.records = ConsoleRecords(store)
        self.audit = ConsoleAudit(store)
        throttle = LoginThrottle(
            self.records, max_failures=settings.console_login_max_failures,
            ip_max_failures=settings.console_login_max_failures * 4,
            window_seconds=settings.console_lockout_seconds,
            lockout_seconds=settings.console_lockout_seconds)
        self.accounts = Accounts(self.records, Passwords(settings.console_password_min_length),
                                 throttle, self.audit, hasher, clock,
                                 settings.console_2fa_roles)
        self.sessions = Sessions(self.records, hasher, clock,
                                 idle_seconds=settings.console_session_idle_seconds,
                                 absolute_seconds=settings.console_session_absolute_seconds)
        self.approvals = KeyApprovals(store, self.records, hasher, admin, self.audit, clock)
        self.tokens = AdminTokens(store, self.records, hasher, self.audit, clock)
        self.counts = EntryCounts(store, clock)

    async def actor(self, user: User, ip: str | None, via: str = "session") -> Actor:
        return Actor(user=user, memberships=await self.records.memberships(user.id), ip=ip,
                     via=via)

    async def add_member(self, actor: Actor, user: User, project_id: str) -> None:
        actor.require_admin()
        await self.records.add_membership(user.id, project_id, self.clock())
        await self.audit.record("console.member.add", actor=actor.name, ip=actor.ip,
                                project_id=project_id, target=user.id, name=user.name)

    async def remove_member(self, actor: Actor, user: User, project_id: str) -> None:
        actor.require_admin()
        if not await self.records.remove_membership(user.id, project_id):
            raise NotFound("Not a member of that project")
        await self.audit.record("console.member.remove", actor=actor.name, ip=actor.ip,
                                project_id=project_id, target=user.id, name=user.name)
