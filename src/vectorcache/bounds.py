"""The documented limits on what a request may carry (README, "Limits"), in one place.

Numbers are bounded where they are parsed, strictly (``true`` is not a number, ``3.0`` is no
whole number of seconds, ``NaN`` and ``1e400`` are no numbers at all), so nothing past the
edge can overflow a 64-bit column, a ``datetime`` or a rate-limit string.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from vectorcache.errors import ValidationFailed
from vectorcache.models import ENVIRONMENTS, RotationPolicy

__all__ = [
    "KEY_LIMITS",
    "MAX_CONTEXT_HEADER_BYTES",
    "MAX_HEADERS_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_INT64",
    "MAX_OLDER_THAN_HOURS",
    "MAX_QUOTA_REQUESTS",
    "MAX_RATE_LIMIT_PER_MINUTE",
    "MAX_RETENTION_DAYS",
    "MAX_ROTATION_DAYS",
    "MAX_TOKENS",
    "MAX_TTL_SECONDS",
    "Finite",
    "OlderThanHours",
    "QuotaRequests",
    "RateLimitPerMinute",
    "RotationDays",
    "Tokens",
    "TtlSeconds",
    "check_key_limits",
    "expiry",
    "rotation_days",
    "rotation_policy_changes",
    "validate_environment",
]

#: any one request header, name and value (431 above it)
MAX_HEADER_BYTES = 8_192
#: all request headers together (431 above it)
MAX_HEADERS_BYTES = 32_768
#: ``X-Vectorcache-Context``: it is screened and hashed on every request (431 above it)
MAX_CONTEXT_HEADER_BYTES = 4_096
#: an entry's or a project's time to live: ten years
MAX_TTL_SECONDS = 10 * 365 * 86_400
#: tokens of one answer's usage (prompt or completion)
MAX_TOKENS = 1_000_000_000
#: ``older_than_hours`` of a clear: about 114 years
MAX_OLDER_THAN_HOURS = 1_000_000
#: a key's own rate limit
MAX_RATE_LIMIT_PER_MINUTE = 100_000_000
#: a key's request quota per period
MAX_QUOTA_REQUESTS = 1_000_000_000_000
#: how long the request log and the audit log are kept (days): ten years at most
MAX_RETENTION_DAYS = 3_650
#: a project's key-rotation period (days, per environment): one day to ten years
MAX_ROTATION_DAYS = 3_650
#: what a JSON integer may be anywhere in a body (a signed 64-bit column holds it)
MAX_INT64 = 2**63 - 1

Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
TtlSeconds = Annotated[int, Field(strict=True, ge=1, le=MAX_TTL_SECONDS)]
Tokens = Annotated[int, Field(strict=True, ge=0, le=MAX_TOKENS)]
OlderThanHours = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0,
                                        le=MAX_OLDER_THAN_HOURS)]
RateLimitPerMinute = Annotated[int, Field(strict=True, ge=1, le=MAX_RATE_LIMIT_PER_MINUTE)]
QuotaRequests = Annotated[int, Field(strict=True, ge=1, le=MAX_QUOTA_REQUESTS)]
#: a key's limits as every entry point checks them (``check_key_limits``): field -> maximum
KEY_LIMITS = {"rate_limit_per_minute": MAX_RATE_LIMIT_PER_MINUTE,
              "quota_requests": MAX_QUOTA_REQUESTS}
RotationDays = Annotated[int, Field(strict=True, ge=1, le=MAX_ROTATION_DAYS)]


def expiry(now: datetime, ttl_seconds: int) -> datetime:
    """``now`` plus a time to live, which never overflows a ``datetime`` (a TTL past the
    limit, from a row written before it was enforced, counts as the limit)."""
    return now + timedelta(seconds=min(ttl_seconds, MAX_TTL_SECONDS))


def rotation_days(name: str, value: object) -> int:
    """A rotation period, checked: a whole number of days from 1 to ``MAX_ROTATION_DAYS``
    (``True`` and ``90.0`` are not; the API, the CLI and the store all ask this)."""
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_ROTATION_DAYS:
        raise ValidationFailed(f"{name} must be a whole number of days from 1 to "
                               f"{MAX_ROTATION_DAYS}", param=name)
    return value


def validate_environment(environment: object) -> str:
    """A key's environment label: production, staging or development (a clear 400); the
    services ask it first, the store again (``codec.api_key_columns``), the last way in."""
    if environment not in ENVIRONMENTS:
        raise ValidationFailed(f"environment must be one of {', '.join(ENVIRONMENTS)}",
                               param="environment")
    return str(environment)


def rotation_policy_changes(value: object) -> dict[str, int]:
    """A rotation policy, or part of one (``{"production": 30}``), checked: days per
    environment."""
    if isinstance(value, RotationPolicy):
        return value.as_dict()
    if not isinstance(value, Mapping):
        raise ValidationFailed("rotation_policy must be an object of days per environment "
                               f"({', '.join(ENVIRONMENTS)})", param="rotation_policy")
    unknown = sorted(str(k) for k in value if k not in ENVIRONMENTS)
    if unknown:
        raise ValidationFailed(f"rotation_policy has no environment {unknown[0]!r}; "
                               f"environments: {', '.join(ENVIRONMENTS)}",
                               param="rotation_policy")
    return {str(env): rotation_days(f"rotation_policy.{env}", days)
            for env, days in value.items()}


def check_key_limits(fields: Mapping[str, object]) -> None:
    """A key's ``rate_limit_per_minute`` and ``quota_requests`` among ``fields`` (either may be
    absent or None: no limit), checked as the API's ``RateLimitPerMinute`` and
    ``QuotaRequests`` are: a whole number from 1 to its maximum (``True`` and ``60.0`` are not).
    Asked by the grant's validation and by the store itself, so no way in stores another."""
    for name, maximum in KEY_LIMITS.items():
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise ValidationFailed(f"{name} must be a whole number from 1 to {maximum:,}",
                                   param=name)
