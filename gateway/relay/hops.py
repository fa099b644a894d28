"""How many Tollgate gateways a request has passed through, so a loop ends quickly.

A channel whose base URL leads back to a gateway (this one, or one that leads here) would
otherwise nest requests until the connection pool runs dry. Each gateway counts itself in
the header it sends upstream; the client's own value is never forwarded as it came.
"""

from __future__ import annotations

from collections.abc import Sequence

HOPS_HEADER = b"x-tollgate-hops"
# Past this, a count is nonsense: treated as "looped" rather than parsed.
_MAX_DIGITS = 6


def incoming_hops(headers: Sequence[tuple[bytes, bytes]]) -> int:
    """The largest hop count the request carries; 0 when none (or none that parses)."""
    hops = 0
    for name, value in headers:
        if name == HOPS_HEADER:
            value = value.strip()
            if not value.isdigit():
                continue  # a client can always omit the header: a bad value earns nothing
            hops = max(hops, int(value) if len(value) <= _MAX_DIGITS else 10**_MAX_DIGITS)
    return hops


def outgoing_hops(hops: int) -> tuple[bytes, bytes]:
    return (HOPS_HEADER, str(hops + 1).encode())
