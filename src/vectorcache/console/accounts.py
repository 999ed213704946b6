"""Admin accounts: creation, password sign-in (throttled), the second factor (TOTP or a backup
code), enrolment, password change. Sessions are ``console/sessions.py``'s; this module only
says who someone is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from vectorcache.console import totp
from vectorcache.console.audit import ConsoleAudit
from vectorcache.console.models import ROLES, User
from vectorcache.console.passwords import Passwords
from vectorcache.console.records import ConsoleRecords
from vectorcache.console.throttle import LoginThrottle
from vectorcache.errors import AuthenticationFailed, NotFound, ValidationFailed
from vectorcache.hashing import Hasher

__all__ = ["Accounts", "Enrolment"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class Enrolment:
    """A TOTP secret being set up: shown as a QR code and as text until a code confirms it."""

    def __init__(self, user: User, secret: str) -> None:
        self.secret = secret
        self.uri = totp.provisioning_uri(secret, user.name)

    @property
    def qr(self) -> str:
        return totp.qr_data_uri(self.uri)


class Accounts:
    def __init__(self, records: ConsoleRecords, passwords: Passwords, throttle: LoginThrottle,
                 audit: ConsoleAudit, hasher: Hasher, clock: Callable[[], datetime],
                 mfa_roles: Sequence[str]) -> None:
        self._records = records
        self.passwords = passwords
        self._throttle = throttle
        self._audit = audit
        self._hasher = hasher
        self._now = clock
        self._mfa_roles = frozenset(mfa_roles)

    def two_factor_required(self, user: User) -> bool:
        return user.role in self._mfa_roles

    # ---------------------------------------------------------------- users
    async def create_user(self, name: str, role: str, password: str, *, actor: str,
                          ip: str | None = None) -> User:
        name = name.strip()
        if not _NAME.match(name):
            raise ValidationFailed("User name: 1..64 letters, digits, '.', '_', '@' or '-', "
                                   "starting with a letter or digit", param="name")
        if role not in ROLES:
            raise ValidationFailed(f"Role must be one of {', '.join(ROLES)}", param="role")
        self.passwords.check_policy(name, password)
        user_id = str(uuid.uuid4())
        await self._records.insert_user(user_id=user_id, name=name, role=role,
                                        password_hash=self.passwords.hash(password),
                                        now=self._now())
        await self._audit.record("console.user.create", actor=actor, ip=ip, target=user_id,
                                 name=name, role=role)
        return await self.user(user_id)

    async def user(self, user_id: str) -> User:
        user = await self._records.user(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

    async def user_by_name(self, name: str) -> User:
        user = await self._records.user_by_name(name)
        if user is None:
            raise NotFound(f"User {name!r} not found")
        return user

    async def set_role(self, user: User, role: str, *, actor: str, ip: str | None) -> User:
        if role not in ROLES:
            raise ValidationFailed(f"Role must be one of {', '.join(ROLES)}", param="role")
        if user.role == "owner" and role != "owner" and await self._records.count_users(
                "owner") <= 1:
            raise ValidationFailed("The last owner cannot be demoted", code="last_owner")
        await self._records.update_user(user.id, role=role)
        await self._audit.record("console.user.role", actor=actor, ip=ip, target=user.id,
                                 name=user.name, role=role)
        return await self.user(user.id)

    async def delete_user(self, user: User, *, actor: str, ip: str | None) -> None:
        if user.role == "owner" and await self._records.count_users("owner") <= 1:
            raise ValidationFailed("The last owner cannot be deleted", code="last_owner")
        await self._records.delete_user(user.id)
        await self._audit.record("console.user.delete", actor=actor, ip=ip, target=user.id,
                                 name=user.name)

    # ---------------------------------------------------------------- sign-in
    async def check_password(self, name: str, password: str, ip: str | None) -> User:
        """The user, or 401 ``invalid_credentials`` (the same whether the name exists or not);
        429 ``login_locked`` after too many failures for the account or the client IP."""
        now = self._now()
        subjects = self._throttle.subjects(name, ip)
        await self._throttle.check(subjects, now)
        found = await self._records.credentials(name.strip())
        ok = self.passwords.verify(found[1] if found else None, password)
        if not ok or found is None or found[0].disabled_at is not None:
            locked = await self._throttle.failed(subjects, now)
            await self._audit.record("console.login", actor=f"user:{name[:64]}", ip=ip,
                                     outcome="locked" if locked else "bad_password")
            raise AuthenticationFailed("Wrong user name or password", code="invalid_credentials")
        user, stored = found
        if self.passwords.needs_rehash(stored):
            await self._records.update_user(user.id, password_hash=self.passwords.hash(password))
        return user

    async def check_second_factor(self, user: User, code: str, ip: str | None) -> None:
        """A TOTP code (each works once) or an unused backup code; else 401 ``invalid_code``."""
        now = self._now()
        subjects = self._throttle.subjects(user.name, ip)
        await self._throttle.check(subjects, now)
        used = "totp"
        secret, last = await self._records.totp(user.id)
        step = None if secret is None else totp.verify_code(secret, code, now, last)
        ok = step is not None and await self._records.use_totp_step(user.id, step)
        if not ok:
            used = "backup_code"
            ok = await self._records.use_backup_code(user.id, self._code_hash(code), now)
        if not ok:
            locked = await self._throttle.failed(subjects, now)
            await self._audit.record("console.login", actor=f"user:{user.name}", ip=ip,
                                     outcome="locked" if locked else "bad_code")
            raise AuthenticationFailed("Wrong or already used code", code="invalid_code")
        await self._throttle.succeeded(user.name)
        await self._audit.record("console.login", actor=f"user:{user.name}", ip=ip,
                                 factor=used)

    async def signed_in(self, user: User, ip: str | None) -> None:
        """A password-only sign-in finished (no second factor for this role)."""
        await self._throttle.succeeded(user.name)
        await self._audit.record("console.login", actor=f"user:{user.name}", ip=ip,
                                 factor="password")

    # ---------------------------------------------------------------- two-factor enrolment
    async def begin_enrolment(self, user: User) -> Enrolment:
        """A new secret, kept (disabled) until confirmed; an enrolled user keeps the old one
        working until then."""
        secret, _ = await self._records.totp(user.id)
        if secret is None or user.totp_enabled:
            secret = totp.new_secret()
            if not user.totp_enabled:
                await self._records.set_totp(user.id, secret, enabled=False)
        return Enrolment(user, secret)

    async def pending_enrolment(self, user: User) -> Enrolment | None:
        secret, _ = await self._records.totp(user.id)
        return None if secret is None or user.totp_enabled else Enrolment(user, secret)

    async def confirm_enrolment(self, user: User, secret: str, code: str,
                                ip: str | None) -> list[str]:
        """Turn TOTP on once ``code`` matches ``secret``; the new backup codes (shown once)."""
        step = totp.verify_code(secret, code, self._now(), None)
        if step is None:
            raise ValidationFailed("That code does not match; check the device's clock and "
                                   "try the next one", code="enrolment_code_mismatch", param="code")
        await self._records.set_totp(user.id, secret, enabled=True)
        await self._records.use_totp_step(user.id, step)
        codes = await self.new_backup_codes(user, ip, audit=False)
        await self._audit.record("console.2fa.enable", actor=f"user:{user.name}", ip=ip,
                                 target=user.id)
        return codes

    async def new_backup_codes(self, user: User, ip: str | None, *,
                               audit: bool = True) -> list[str]:
        codes = totp.new_backup_codes()
        await self._records.replace_backup_codes(user.id, [self._code_hash(c) for c in codes])
        if audit:
            await self._audit.record("console.2fa.backup_codes", actor=f"user:{user.name}",
                                     ip=ip, target=user.id)
        return codes

    async def reset_two_factor(self, user: User, *, actor: str, ip: str | None) -> None:
        """An owner clears a user's TOTP and backup codes (a lost device); a role that needs
        two factors enrols again at the next sign-in."""
        await self._records.set_totp(user.id, None, enabled=False)
        await self._records.replace_backup_codes(user.id, [])
        await self._audit.record("console.2fa.reset", actor=actor, ip=ip, target=user.id,
                                 name=user.name)

    async def backup_codes_left(self, user: User) -> int:
        return await self._records.backup_codes_left(user.id)

    def _code_hash(self, code: str) -> str:
        return self._hasher.api_key("console-backup:" + totp.normal_backup_code(code))

    # ---------------------------------------------------------------- passwords
    async def change_password(self, user: User, current: str, new: str,
                              ip: str | None) -> None:
        if not self.passwords.verify(await self._records.password_hash(user.id), current):
            await self._audit.record("console.password.change", actor=f"user:{user.name}",
                                     ip=ip, outcome="bad_password", target=user.id)
            raise ValidationFailed("The current password is wrong", code="wrong_current_password",
                                   param="current_password")
        self.passwords.check_policy(user.name, new)
        await self._records.update_user(user.id, password_hash=self.passwords.hash(new),
                                        password_changed_at=self._now().timestamp())
        await self._audit.record("console.password.change", actor=f"user:{user.name}", ip=ip,
                                 target=user.id)
