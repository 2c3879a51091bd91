"""Who is on the other end of a request: the client's address, as limits and scoping need it.

Behind a reverse proxy every request comes from the proxy, so one address would be everyone.
``X-Forwarded-For`` names the real client, but anyone can send that header: it is believed
only when the connection comes from an address in ``--trusted-proxies``, and then read from
the right, skipping further trusted hops, so a client cannot prepend a fake address.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from parley.config import Network, parse_networks


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The client address given the TCP peer and its ``X-Forwarded-For`` header."""
    if not networks or not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else ""
    networks = parse_networks(request.scope["parley.engine"].settings.trusted_proxies)
    return forwarded_client(peer, request.headers.get("x-forwarded-for"), networks)
