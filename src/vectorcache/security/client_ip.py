"""The client's IP address, and whether it is inside a key's allow-list.

The socket peer is the client, unless the peer is a configured trusted proxy: then
``X-Forwarded-For`` is read right to left, skipping trusted proxies only, and the first address
that is not a trusted proxy is the client. A header sent by an untrusted peer is ignored.

Only ``trusted_proxies`` decides. ``vectorcache serve`` turns the HTTP server's own
forwarded-header handling off; another server command may leave it on (uvicorn and gunicorn's
uvicorn workers believe ``X-Forwarded-For`` from 127.0.0.1 by default) and replace the socket
peer in the ASGI scope with a hop of the header. ``peer_of`` recognises that (the scope's
client is then one of the header's hops, port included: a socket peer never is) and answers
None: the real peer is unknown, and an allow-list refuses an unknown address.
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
    "peer_of",
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


def _hop_host_port(hop: str) -> tuple[str, int]:
    """A hop as uvicorn's proxy-headers middleware reads it (no port: 0)."""
    hop = hop.strip()
    if hop.startswith("[") and "]" in hop:
        host, rest = hop[1:hop.index("]")], hop[hop.index("]") + 1:]
        return host, int(rest[1:]) if rest[1:].isdigit() and rest.startswith(":") else 0
    if hop.count(":") == 1:
        host, port = hop.rsplit(":", 1)
        return host, int(port) if port.isdigit() else 0
    return hop, 0


def _same_host(a: str, b: str) -> bool:
    addr_a, addr_b = parse_ip(a), parse_ip(b)
    return a == b if addr_a is None or addr_b is None else addr_a == addr_b


def peer_of(client: Sequence[object] | None,
            forwarded_for: Sequence[str]) -> str | None:
    """The socket peer's host from the ASGI scope's ``client``, or None when the HTTP server
    rewrote it from ``X-Forwarded-For`` (the client equals one of the header's hops)."""
    if not client:
        return None
    if isinstance(client, str):  # a bare host: nothing to compare the hops' ports with
        return client
    host, port = str(client[0]), client[1] if len(client) > 1 else 0
    for header in forwarded_for:
        for hop in header.split(","):
            hop_host, hop_port = _hop_host_port(hop)
            if hop_port == port and _same_host(hop_host, host):
                return None
    return host


def ip_allowed(addr: IPAddress | None, allowed: Sequence[str]) -> bool:
    """True when there is no allow-list, or ``addr`` is in it (an unknown address never is)."""
    if not allowed:
        return True
    if addr is None:
        return False
    return _in_any(addr, parse_networks(allowed))


def network_within(inner: IPNetwork, outers: Sequence[IPNetwork]) -> bool:
    return any(inner.version == o.version and inner.subnet_of(o) for o in outers)  # type: ignore[arg-type]
