"""Second factors: TOTP (RFC 6238, ``pyotp``) with a locally rendered QR code (``segno``), and
one-time backup codes kept as hashes."""

from __future__ import annotations

import base64
import io
import secrets
from datetime import datetime

import pyotp
import segno

__all__ = ["BACKUP_CODES", "new_backup_codes", "new_secret", "normal_backup_code",
           "provisioning_uri", "qr_data_uri", "verify_code"]

BACKUP_CODES = 10
_ISSUER = "Vectorcache"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(secret: str, user: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name=_ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a ``data:`` URI for an ``<img>`` (CSP ``img-src data:``)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def verify_code(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to (this one or either neighbour), or None; a step at
    or before ``last_step`` is refused, so a code works once."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if last_step is not None and candidate <= last_step:
            continue
        expected = totp.generate_otp(candidate)
        if secrets.compare_digest(expected, code):
            return candidate
    return None


def new_backup_codes() -> list[str]:
    """Ten codes of ten characters (~49 bits each), shown once, as ``xxxxx-xxxxx``."""
    codes = []
    for _ in range(BACKUP_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normal_backup_code(code: str) -> str:
    """What is hashed: the code without separators, lower case."""
    return code.strip().lower().replace("-", "").replace(" ", "")
