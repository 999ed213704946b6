"""API key scopes: what the wildcards a key may hold (``*``, ``cache:*``) grant."""

from __future__ import annotations

from vectorcache.models import ALL_SCOPES

__all__ = ["expand_scopes"]


def expand_scopes(scopes: tuple[str, ...] | list[str]) -> frozenset[str]:
    """``*`` means every scope; ``cache:*`` means cache:read and cache:write."""
    out: set[str] = set()
    for scope in scopes:
        if scope == "*":
            out.update(ALL_SCOPES)
        elif scope.endswith(":*"):
            out.update(s for s in ALL_SCOPES if s.startswith(scope[:-1]))
        else:
            out.add(scope)
    return frozenset(out)
