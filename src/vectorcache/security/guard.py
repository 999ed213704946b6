"""Per-request access checks that need more than the key record: the client's IP (allow-list),
rate limits per IP and per key, and quotas. Built once per app from settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from vectorcache.errors import ConfigurationError, PermissionDenied
from vectorcache.models import ApiKey
from vectorcache.redis_client import Breaker
from vectorcache.security.client_ip import (
    IPAddress,
    ip_allowed,
    parse_networks,
    peer_of,
    resolve_client_ip,
)
from vectorcache.security.ratelimit import Meter, RateLimits
from vectorcache.settings import Settings

__all__ = ["AccessGuard"]

log = logging.getLogger("vectorcache.security")


class AccessGuard:
    def __init__(self, settings: Settings, breaker: Breaker | None = None) -> None:
        try:
            self._trusted = parse_networks(settings.trusted_proxies)
        except ValueError:
            raise ConfigurationError("trusted_proxies must be a list of CIDRs, e.g. "
                                     '["10.0.0.0/8", "::1"]') from None
        self._limits = RateLimits(settings.rate_limit_storage_url,
                                  settings.rate_limits_without_redis,
                                  breaker or Breaker(settings.redis_breaker_seconds))
        self._default_per_minute = settings.default_rate_limit_per_minute
        self._ip_per_minute = settings.ip_rate_limit_per_minute
        self._warned_rewrite = False

    def client_ip(self, client: Sequence[object] | None,
                  forwarded_for: list[str]) -> IPAddress | None:
        """From the ASGI scope's ``client`` and the ``X-Forwarded-For`` headers; None when
        unknown (a non-IP peer, or one the HTTP server replaced from the header)."""
        peer = peer_of(client, forwarded_for)
        if peer is None and client and not self._warned_rewrite:
            self._warned_rewrite = True  # once per app: a flood must not flood the log
            log.warning("The HTTP server replaced the client address from X-Forwarded-For; "
                        "such requests count as from an unknown address (IP allow-lists "
                        "refuse them). Turn its proxy headers off (uvicorn "
                        "--no-proxy-headers, or --forwarded-allow-ips '') and list your "
                        "proxies in VECTORCACHE_TRUSTED_PROXIES.")
        return resolve_client_ip(peer, forwarded_for, self._trusted)

    async def storage_status(self) -> str | None:
        """The rate-limit storage, for readiness: None when counting in process."""
        return await self._limits.storage_status()

    async def before_auth(self, ip: IPAddress | None, meter: Meter) -> None:
        """The per-IP limit: counted before the key is checked, so key guessing is slowed too."""
        if self._ip_per_minute is not None:
            await self._limits.per_minute("ip", str(ip) if ip else "unknown",
                                          self._ip_per_minute, meter)

    async def after_auth(self, key: ApiKey | None, ip: IPAddress | None, meter: Meter) -> None:
        """The key's IP allow-list (403), then its rate limit and quota (429)."""
        if key is None:
            return
        if not ip_allowed(ip, key.allowed_ips):
            raise PermissionDenied("API key is not allowed from this client IP",
                                   code="ip_not_allowed")
        per_minute = key.rate_limit_per_minute or self._default_per_minute
        if per_minute is not None:
            await self._limits.per_minute("key", key.id, per_minute, meter)
        if key.quota_requests is not None:
            await self._limits.quota(key.id, key.quota_requests, key.quota_period or "day",
                                     meter)
