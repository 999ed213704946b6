"""Secrets out of messages: passwords in URLs, and the values of secret settings.

Used where a message may quote what an operator typed (a bad setting, a database that will
not open): the message keeps the URL's user and host, never its password, and never the value
of a setting typed as a secret (``SecretStr``: the server secret, the master key, the
passphrase), whatever library wrote the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "SECRET_ENV", "URL_ENV", "mask_text", "mask_url_credentials", "secret_values"]

MASK = "***"
#: settings typed as secrets: their values are never quoted
SECRET_ENV = ("VECTORCACHE_SERVER_SECRET", "VECTORCACHE_MASTER_KEY", "VECTORCACHE_PASSPHRASE",
              "VECTORCACHE_ALERT_WEBHOOK_SECRET")
#: settings that are URLs: a password in them is never quoted
URL_ENV = ("VECTORCACHE_DATABASE_URL", "VECTORCACHE_RATE_LIMIT_STORAGE_URL",
           "VECTORCACHE_REDIS_URL", "VECTORCACHE_ALERT_WEBHOOK_URL")

# scheme://user:password@ (the password may hold anything but '@' and whitespace, so a
# malformed URL is masked too) and password=... in a query or a libpq conninfo string
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://[^:/@\s]*):[^@\s]*@")
_PASSWORD_PARAM = re.compile(r"(?i)(\bpassword\s*=\s*)('[^']*'|[^&\s]*)")


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every URL in it (and ``password=...``) masked."""
    return _PASSWORD_PARAM.sub(rf"\g<1>{MASK}", _URL_PASSWORD.sub(rf"\g<1>:{MASK}@", text))


def _url_password(url: str) -> str | None:
    match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:([^@\s]*)@", url)
    return match.group(1) if match and match.group(1) else None


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The secret settings' values and URL passwords in ``env``, longest first."""
    values = [env[name] for name in SECRET_ENV if env.get(name)]
    values += [p for p in (_url_password(env.get(name) or "") for name in URL_ENV) if p]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords and each of ``secrets`` masked."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return mask_url_credentials(text)
