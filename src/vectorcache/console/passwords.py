"""Passwords: Argon2id hashes (``argon2-cffi``'s RFC 9106 low-memory profile) and the policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vectorcache.errors import ValidationFailed

__all__ = ["MAX_LENGTH", "Passwords"]

MAX_LENGTH = 256  # hashing cost grows with length; longer is refused, not truncated


class Passwords:
    def __init__(self, min_length: int = 12) -> None:
        self.min_length = min_length
        self._hasher = PasswordHasher()  # Argon2id, t=3, m=64 MiB, p=4
        #: verified against when the account does not exist, so timing says nothing
        self._dummy = self._hasher.hash("vectorcache-no-such-account")

    def check_policy(self, name: str, password: str) -> None:
        """A length floor and not the user name (either way round, any case)."""
        if len(password) < self.min_length:
            raise ValidationFailed(
                f"Password must be at least {self.min_length} characters", param="password",
                code="weak_password")
        if len(password) > MAX_LENGTH:
            raise ValidationFailed(f"Password must be at most {MAX_LENGTH} characters",
                                   param="password", code="weak_password")
        lowered, who = password.lower(), name.lower()
        if who and (who in lowered or lowered in who):
            raise ValidationFailed("Password must not contain the user name", param="password",
                                   code="weak_password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
