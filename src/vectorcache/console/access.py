"""Who may do what: an ``Actor`` (a signed-in user, or an admin token's) and the role rules.

owner: everything, users included; admin: every project; developer: keys and settings of the
projects they are a member of; viewer: read-only view of the projects they are a member of.
"""

from __future__ import annotations

from dataclasses import dataclass

from vectorcache.console.models import User
from vectorcache.errors import PermissionDenied

__all__ = ["Actor"]


@dataclass(frozen=True)
class Actor:
    user: User
    memberships: frozenset[str]
    ip: str | None = None
    via: str = "session"  # session | token

    @property
    def name(self) -> str:
        """As the audit log names them (the service actions take it as ``actor``)."""
        return f"user:{self.user.name}"

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.role in ("owner", "admin")

    def sees_all(self) -> bool:
        return self.is_admin

    def can_read(self, project_id: str) -> bool:
        return self.is_admin or project_id in self.memberships

    def can_write(self, project_id: str) -> bool:
        return self.is_admin or (self.user.role == "developer" and project_id in self.memberships)

    def require_read(self, project_id: str) -> None:
        if not self.can_read(project_id):
            raise PermissionDenied("You are not a member of this project",
                                   code="project_access_denied")

    def require_write(self, project_id: str) -> None:
        self.require_read(project_id)
        if not self.can_write(project_id):
            raise PermissionDenied(f"The {self.role} role is read-only here", code="read_only")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("Only an owner or an admin may do this", code="admin_only")

    def require_owner(self) -> None:
        if self.user.role != "owner":
            raise PermissionDenied("Only an owner may do this", code="owner_only")
