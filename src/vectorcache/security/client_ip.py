"""The client's IP address, and whether it is inside a key's allow-list.

The socket peer is the client, unless the peer is a configured trusted proxy: then
``X-Forwarded-For`` is read right to left, skipping trusted proxies only, and the first address
that is not a trusted proxy is the client. A header sent by an untrusted peer is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

__all__ = [
    "IPAddress",
    "IPNetwork",
    "ip_allowed",
    "network_within",
    "parse_ip",
    "parse_network",
    "parse_networks",
    "resolve_client_ip",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str | None) -> IPAddress | None:
    """An address, or None if ``text`` is not one; IPv4-mapped IPv6 becomes plain IPv4."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # zone id
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_network(text: str) -> IPNetwork:
    """A CIDR (``10.0.0.0/8``) or a single address; raises ``ValueError`` if neither."""
    text = text.strip()
    addr = parse_ip(text) if "/" not in text else None
    if addr is not None:
        return ipaddress.ip_network(addr)
    net = ipaddress.ip_network(text, strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None \
            and net.prefixlen >= 96:
        return ipaddress.ip_network(
            f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}", strict=False)
    return net


def parse_networks(items: Iterable[str]) -> list[IPNetwork]:
    return [parse_network(item) for item in items]


def _in_any(addr: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(addr.version == net.version and addr in net for net in networks)


def resolve_client_ip(peer: str | None, forwarded_for: Sequence[str],
                      trusted: Sequence[IPNetwork]) -> IPAddress | None:
    """The client address, or None when it cannot be known (e.g. a non-IP test peer)."""
    addr = parse_ip(peer)
    if addr is None or not _in_any(addr, trusted):
        return addr
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_addr = parse_ip(hop)
        if hop_addr is None:  # garbage in the chain: stop trusting it here
            return addr
        if not _in_any(hop_addr, trusted):
            return hop_addr
        addr = hop_addr
    return addr  # every hop is a trusted proxy: the leftmost one is all we know


def ip_allowed(addr: IPAddress | None, allowed: Sequence[str]) -> bool:
    """True when there is no allow-list, or ``addr`` is in it (an unknown address never is)."""
    if not allowed:
        return True
    if addr is None:
        return False
    return _in_any(addr, parse_networks(allowed))


def network_within(inner: IPNetwork, outers: Sequence[IPNetwork]) -> bool:
    return any(inner.version == o.version and inner.subnet_of(o) for o in outers)  # type: ignore[arg-type]
