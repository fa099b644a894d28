"""The login throttle's counters on both caches it runs on: local memory and a real Redis."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import cache

from gateway.login_throttle import LoginThrottle, address_bucket

REDIS_URL = os.environ.get("TOLLGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.ConnectionError as exc:
            pytest.skip(f"REDIS NOT REACHABLE at {REDIS_URL} ({exc}): Redis throttle NOT TESTED")
        prefix = f"tollgate-test-{uuid.uuid4().hex}"
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": prefix,
            }
        }
        yield "redis"
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
    else:
        cache.clear()
        yield "locmem"
        cache.clear()


def _parallel_attempts(count: int, username: str, ip: str) -> list[int]:
    """`count` attempts begun at the same instant, as parallel requests would."""
    start = threading.Barrier(count)
    results: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        throttle = LoginThrottle(username, ip)
        start.wait()
        seconds = throttle.begin_attempt()
        with lock:
            results.append(seconds)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_guesses_get_exactly_the_allowed_number_of_tries(shared_cache: str) -> None:
    # 12, under the address limit (20): past it, the refused ones' brief counts would also
    # trip that limit, refusing a burst a little early (never late).
    results = _parallel_attempts(12, "alice", "203.0.113.9")
    assert results.count(0) == 5
    assert all(seconds > 0 for seconds in results if seconds)


def test_parallel_spraying_across_usernames_stops_at_the_address_limit(
    shared_cache: str, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    allowed = 0
    for number in range(12):
        allowed += LoginThrottle(f"user{number}", "203.0.113.10").begin_attempt() == 0
    assert allowed == 8
    assert LoginThrottle("someone-else", "203.0.113.10").seconds_left() > 0
    assert LoginThrottle("someone-else", "203.0.113.11").seconds_left() == 0


def test_a_success_refunds_its_attempt(shared_cache: str, settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    for _ in range(5):
        throttle = LoginThrottle("alice", "203.0.113.12")
        assert throttle.begin_attempt() == 0
        throttle.succeeded()


def test_it_counts_an_ipv6_64_as_one_address() -> None:
    assert address_bucket("2001:db8:1:2::1") == address_bucket("2001:db8:1:2:ffff::9")
    assert address_bucket("2001:db8:1:2::1") != address_bucket("2001:db8:1:3::1")
    assert address_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_bucket("192.0.2.1") == "192.0.2.1"
