"""The client address every later layer sees, believed from X-Forwarded-For only via trusted proxies.

uvicorn's proxy-header support (on by default, trusting 127.0.0.1) replaces `scope["client"]` with a
hop of X-Forwarded-For before the app runs and keeps no original, so the app cannot recover the socket
peer. What it can tell is that the replacement happened: the "peer" is then one of the header's own hops.
With no trusted proxies configured nothing in that header may be believed, so such a request gets one
shared placeholder address: a made-up header no longer buys a fresh rate-limit bucket.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from autopack.core.logging import get_logger

log = get_logger(__name__)
_warned = False
# The address of requests whose peer the server took from X-Forwarded-For without a trusted proxy.
UNVERIFIED_FORWARDED = "unverified-forwarded"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(raw: str) -> tuple[Network, ...]:
    """Parse AUTOPACK_TRUSTED_PROXIES (comma list of IPs/CIDRs); ValueError names a bad entry."""
    networks = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"AUTOPACK_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(networks)


def trusted_proxy_list(raw: str) -> list[str]:
    """The trusted proxies as uvicorn's forwarded_allow_ips list (validated, normalised)."""
    return [str(net) for net in trusted_networks(raw)]


def _is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _hop(hop: str) -> tuple[str, int]:
    """One X-Forwarded-For entry read exactly as uvicorn reads it: (host, port), port 0 when absent."""
    if hop.startswith("["):
        end = hop.find("]")
        if end == -1:
            return hop, 0
        host, rest = hop[1:end], hop[end + 1:]
        if not rest:
            return host, 0
        if not rest.startswith(":"):
            return hop, 0
        try:
            return host, int(rest[1:])
        except ValueError:
            return host, 0
    if hop.count(":") == 1:
        host, port = hop.rsplit(":", 1)
        try:
            return host, int(port)
        except ValueError:
            return hop, 0
    return hop, 0


def forwarded_hops(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """Every X-Forwarded-For entry, in order, over all such header lines (as proxies append them)."""
    values = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
    if not values:
        return []
    return [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]


def resolve_client(peer: tuple[str, int] | None, hops: list[str],
                   networks: tuple[Network, ...]) -> str | None:
    """The client address to use, or None to keep the peer as it is.

    - the peer is a trusted proxy: the nearest hop that is not one (the first hop when all are);
    - the peer came out of the header (the server rewrote it: same host and port as a hop, and a real
      socket peer never has port 0) and no proxy is trusted: the placeholder;
    - otherwise the peer stands (a direct client's own X-Forwarded-For is ignored).
    """
    if not hops or peer is None:
        return None
    host, port = peer[0], peer[1]
    if networks and _is_trusted(host, networks):
        for hop in reversed(hops):
            hop_host = _hop(hop)[0]
            if not _is_trusted(hop_host, networks):
                return hop_host
        return _hop(hops[0])[0]
    if not networks and (host, port) in {_hop(hop) for hop in hops}:
        _warn_once()
        return UNVERIFIED_FORWARDED
    # With trusted proxies, a peer taken from the header is the server's work under the documented
    # configuration (forwarded_allow_ips = the trusted proxies), which `autopack serve` applies.
    return None


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("client_address_from_untrusted_header",
                    hint="the server took the client address from X-Forwarded-For but "
                         "AUTOPACK_TRUSTED_PROXIES is empty: run `autopack serve`, or uvicorn with "
                         "--no-proxy-headers (or --forwarded-allow-ips <your proxy> and set "
                         "AUTOPACK_TRUSTED_PROXIES to it)")


def settle_client(scope: dict, networks: tuple[Network, ...]) -> None:
    """Rewrite `scope["client"]` in place to the address rate limits and logs must see."""
    hops = forwarded_hops(scope["headers"])
    resolved = resolve_client(scope.get("client"), hops, networks)
    if resolved is not None:
        scope["client"] = (resolved, 0)
