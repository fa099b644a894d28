"""Failed admin logins, counted three ways in Django's cache (Redis when configured).

- per account and address: one address guessing one account's password;
- per address, across accounts: one address spraying many accounts;
- globally: many addresses at once. This one can hold every admin out for the rest of a
  window when it trips; it is the ceiling on how fast the whole internet may guess.

Each limit counts failures in a window that opens at the first attempt it counts. An attempt
is counted before the password is checked and refunded when it succeeds, so parallel
guesses cannot all slip in before the first failure is written (increments are atomic in
Redis and in the local-memory cache alike). An attempt refused by the throttle counts nowhere:
a locked-out address hammering the form must not use up the global budget. (In a burst, an
attempt about to be refused counts for an instant, so a burst may be refused a little early,
never late.)
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _now() -> float:
    return time.time()


def client_ip(request: HttpRequest | None) -> str:
    # uvicorn puts the forwarded client here only when the peer is a proxy named in
    # TOLLGATE_TRUSTED_PROXIES (none by default); X-Forwarded-For itself is never read.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def address_bucket(ip: str) -> str:
    """The unit an address limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's
    allocation: counting single IPv6 addresses would give a sprayer 2**64 fresh ones)."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class FailureCounter:
    name: str
    limit: int
    window: int

    @property
    def count_key(self) -> str:
        return f"login-failures:{self.name}"

    @property
    def since_key(self) -> str:
        return f"login-failures-since:{self.name}"

    def seconds_left(self, values: dict[str, object]) -> int:
        """How long this limit refuses logins, from already-fetched cache values."""
        since = values.get(self.since_key)
        count = values.get(self.count_key) or 0
        if not isinstance(since, int | float) or not isinstance(count, int):
            return 0
        left = since + self.window - _now()
        if left <= 0 or count < self.limit:
            return 0
        return max(1, math.ceil(left))

    def add(self) -> int:
        since = cache.get(self.since_key)
        if since is not None and _now() - since >= self.window:
            cache.delete_many([self.count_key, self.since_key])
        cache.add(self.since_key, _now(), self.window)
        cache.add(self.count_key, 0, self.window)
        try:
            return int(cache.incr(self.count_key))
        except ValueError:  # expired between add and incr
            cache.set(self.count_key, 1, self.window)
            return 1

    def refund(self) -> None:
        try:
            if cache.decr(self.count_key) < 0:
                cache.set(self.count_key, 0, self.window)
        except ValueError:
            pass  # the window closed meanwhile: nothing left to refund

    def reset(self) -> None:
        cache.delete_many([self.count_key, self.since_key])


class LoginThrottle:
    def __init__(self, username: str, ip: str) -> None:
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        address = address_bucket(ip)
        self.account = FailureCounter(
            f"account:{_digest(username.strip().lower(), address)}",
            settings.LOGIN_FAILURES_PER_ACCOUNT,
            window,
        )
        self.counters = [
            self.account,
            FailureCounter(
                f"address:{_digest(address)}", settings.LOGIN_FAILURES_PER_ADDRESS, window
            ),
            FailureCounter("global", settings.LOGIN_FAILURES_GLOBAL, window),
        ]

    def seconds_left(self) -> int:
        """How long logins stay refused for this username and address; 0 when allowed."""
        keys = [key for c in self.counters for key in (c.count_key, c.since_key)]
        values = cache.get_many(keys)
        return max(counter.seconds_left(values) for counter in self.counters)

    def begin_attempt(self) -> int:
        """Count an attempt before its password is checked; a number of seconds if refused."""
        if seconds := self.seconds_left():
            return seconds
        counted = [(counter, counter.add()) for counter in self.counters]
        if any(count > counter.limit for counter, count in counted):
            # Others got in first: this one is refused and counts nowhere.
            for counter, _ in counted:
                counter.refund()
            return max(1, self.seconds_left())
        return 0

    def succeeded(self) -> None:
        """The password was right: refund the attempt; this account's slate is clean."""
        for counter in self.counters[1:]:
            counter.refund()
        self.account.reset()
