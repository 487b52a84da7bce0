"""Which addresses feeds may be fetched from: a pure policy over IP addresses.

Link-local (cloud metadata at 169.254.169.254), multicast and unspecified
addresses are always refused; loopback and private ranges only unless
NEWSWORKER_ALLOW_PRIVATE_NETWORKS is true; IPv6 forms that carry an IPv4 address
to the wire are judged by that IPv4 address. The fetcher applies it to every
resolved address of every hop, at connect time (worker/inputs/fetch.py).
"""

from __future__ import annotations

import ipaddress

_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def refusal(ip: str, allow_private: bool) -> str | None:
    """Why `ip` may not be fetched from, or None when it may."""
    addr = _embedded_ipv4(ipaddress.ip_address(ip))
    # Link-local covers cloud metadata (169.254.169.254): never allowed.
    for name in ("link_local", "multicast", "unspecified"):
        if getattr(addr, f"is_{name}"):
            return f"{name.replace('_', '-')} address"
    if addr.is_global:
        return None
    private = addr.is_loopback or any(addr in net for net in _PRIVATE_NETS)
    if allow_private and private:
        return None
    kind = "loopback" if addr.is_loopback else "private" if private else "reserved"
    hint = "; set NEWSWORKER_ALLOW_PRIVATE_NETWORKS=true to allow" if private else ""
    return f"{kind} address{hint}"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 one carries to the wire, judged instead of the wrapper.

    IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::)
    and the old IPv4-compatible form (::a.b.c.d) all reach an IPv4 host; judged as
    IPv6 they look global, and 64:ff9b::a9fe:a9fe would reach 169.254.169.254.
    """
    if not isinstance(addr, ipaddress.IPv6Address):
        return addr
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64 or (addr in _IPV4_COMPATIBLE and int(addr) > 1):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr
