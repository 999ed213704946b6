"""What a key may grant: a key with ``keys:manage`` never creates or changes a key with more
rights than its own — scopes, models, client IPs, expiry, rate limit and quota alike.

A ``Grant`` is everything a key is allowed to do. ``check_within(grant, holder)`` is the one
rule; the operator (CLI, ``holder=None``) may grant anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vectorcache.bounds import check_key_limits
from vectorcache.clock import utcnow
from vectorcache.errors import PermissionDenied, ValidationFailed
from vectorcache.models import ALL_SCOPES, ApiKey
from vectorcache.security.client_ip import network_within, parse_network, parse_networks
from vectorcache.security.scopes import expand_scopes

__all__ = ["KNOWN_SCOPES", "QUOTA_PERIODS", "Grant", "check_within", "validate"]

QUOTA_PERIODS = ("day", "month")
KNOWN_SCOPES = (*ALL_SCOPES, "cache:*", "*")


@dataclass(frozen=True)
class Grant:
    scopes: tuple[str, ...] = ALL_SCOPES
    models: tuple[str, ...] = ()
    allowed_ips: tuple[str, ...] = ()
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None
    quota_requests: int | None = None
    quota_period: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Grant:
        return cls(scopes=key.scopes, models=key.models, allowed_ips=key.allowed_ips,
                   expires_at=key.expires_at, rate_limit_per_minute=key.rate_limit_per_minute,
                   quota_requests=key.quota_requests, quota_period=key.quota_period)

    def with_changes(self, **changes: Any) -> Grant:
        return replace(self, **{k: v for k, v in changes.items() if k in _FIELDS})

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = ("scopes", "models", "allowed_ips", "expires_at", "rate_limit_per_minute",
           "quota_requests", "quota_period")


def validate(grant: Grant) -> Grant:
    """Reject what a key cannot hold; return the grant normalised (CIDRs in canonical form)."""
    if not grant.scopes:
        raise ValidationFailed("scopes must not be empty", param="scopes")
    unknown = [s for s in grant.scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise ValidationFailed(f"Unknown scope {unknown[0]!r}; known: {', '.join(KNOWN_SCOPES)}",
                               param="scopes")
    if any(not m or len(m) > 200 for m in grant.models):
        raise ValidationFailed("models must be non-empty names", param="models")
    try:
        ips = tuple(str(parse_network(ip)) for ip in grant.allowed_ips)
    except ValueError:
        raise ValidationFailed("allowed_ips must be IP addresses or CIDRs (10.0.0.0/8, "
                               "2001:db8::/32)", param="allowed_ips") from None
    check_key_limits(grant.fields())  # the API's bounds, for every way in (bounds.py)
    if (grant.quota_requests is None) != (grant.quota_period is None):
        raise ValidationFailed("A quota needs both requests and period", param="quota")
    if grant.quota_period is not None and grant.quota_period not in QUOTA_PERIODS:
        raise ValidationFailed("quota period must be 'day' or 'month'", param="quota")
    return replace(grant, allowed_ips=ips)


def _deny(what: str) -> PermissionDenied:
    return PermissionDenied(f"A key cannot grant more than it holds: {what}",
                            code="privilege_escalation")


def check_within(grant: Grant, holder: ApiKey | None) -> None:
    """Raise 403 ``privilege_escalation`` unless ``grant`` is no wider than ``holder``'s key."""
    if holder is None:
        return
    own = expand_scopes(holder.scopes)
    extra = sorted(expand_scopes(grant.scopes) - own)
    if extra:
        raise _deny(f"scope {extra[0]!r}")
    if holder.models and (not grant.models or not set(grant.models) <= set(holder.models)):
        raise _deny("models outside the key's own model list")
    if holder.allowed_ips:
        own_nets = parse_networks(holder.allowed_ips)
        if not grant.allowed_ips or not all(network_within(n, own_nets)
                                            for n in parse_networks(grant.allowed_ips)):
            raise _deny("client IPs outside the key's own allow-list")
    if holder.expires_at is not None and (grant.expires_at is None
                                          or grant.expires_at > holder.expires_at):
        raise _deny("an expiry later than the key's own")
    if holder.rate_limit_per_minute is not None and (
            grant.rate_limit_per_minute is None
            or grant.rate_limit_per_minute > holder.rate_limit_per_minute):
        raise _deny("a rate limit above the key's own")
    if holder.quota_requests is not None:
        narrower_period = grant.quota_period == holder.quota_period or (
            holder.quota_period == "day" and grant.quota_period == "month")
        if grant.quota_requests is None or grant.quota_requests > holder.quota_requests \
                or not narrower_period:
            raise _deny("a quota above the key's own")


def check_not_past(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future", param="expires_at")
