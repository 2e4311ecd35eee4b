"""Resource policy: allow and deny source addresses, honouring trusted proxies.

Layer: runtime. The client address is the TCP peer, unless the peer is a trusted proxy:
then ``X-Forwarded-For`` is read from the right, skipping trusted hops, and the first
untrusted address is the client. Addresses further left were written by the client
itself and are never believed.

Deny wins over allow; a non-empty allow list admits only its members. An address that
cannot be determined or parsed is refused whenever a policy is configured.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..errors import ConfigurationError
from .failures import AccessDenied

__all__ = ["IpPolicy", "client_address", "ip_policy_middleware", "parse_networks"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str], *, setting: str) -> tuple[IpNetwork, ...]:
    """``"10.0.0.0/8"``, ``"192.0.2.7"`` or ``"2001:db8::/32"`` -> networks; raises on typos."""
    networks: list[IpNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"{setting}: {entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _parse_address(text: str) -> IpAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:192.0.2.1" is the IPv4 client
    return address


def _within(address: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(
    request: web.Request, trusted_proxies: Sequence[IpNetwork] = ()
) -> IpAddress | None:
    """The calling client's address, or ``None`` when it cannot be determined.

    Example: peer ``10.0.0.2`` (trusted), ``X-Forwarded-For: 6.6.6.6, 198.51.100.9,
    10.0.0.1`` -> ``198.51.100.9`` (``6.6.6.6`` is whatever the client claimed).
    """
    peer = _parse_address(request.remote or "")
    if peer is None or not _within(peer, trusted_proxies):
        return peer
    hops = [
        hop
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    candidate: IpAddress | None = peer
    for hop in reversed(hops):
        candidate = _parse_address(hop)
        if candidate is None or not _within(candidate, trusted_proxies):
            return candidate
    return candidate  # every hop was a trusted proxy: the left-most is the client


@dataclass(frozen=True, slots=True)
class IpPolicy:
    """Source-address allow/deny lists.

    Example::

        policy = IpPolicy.from_strings(allow=["203.0.113.0/24"], deny=["203.0.113.66"],
                                       trusted_proxies=["10.0.0.0/8"])
    """

    allow: tuple[IpNetwork, ...] = ()
    deny: tuple[IpNetwork, ...] = ()
    trusted_proxies: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_strings(
        cls,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
    ) -> IpPolicy:
        return cls(
            allow=parse_networks(allow, setting="resourcePolicy.allow"),
            deny=parse_networks(deny, setting="resourcePolicy.deny"),
            trusted_proxies=parse_networks(
                trusted_proxies, setting="resourcePolicy.trustedProxies"
            ),
        )

    def enforce(self, request: web.Request) -> None:
        """Raise :class:`AccessDenied` (403) unless the client address is admitted."""
        if not self.allow and not self.deny:
            return
        address = client_address(request, self.trusted_proxies)
        if address is None:
            raise AccessDenied("the client address could not be determined")
        if _within(address, self.deny):
            raise AccessDenied("the client address is denied by the resource policy")
        if self.allow and not _within(address, self.allow):
            raise AccessDenied("the client address is not allowed by the resource policy")


def ip_policy_middleware(*, policy: IpPolicy) -> Middleware:
    """A middleware applying ``policy`` to every request, before any other auth work."""

    @web.middleware
    async def ip_policy(request: web.Request, handler: Handler) -> web.StreamResponse:
        policy.enforce(request)
        return await handler(request)

    return ip_policy
