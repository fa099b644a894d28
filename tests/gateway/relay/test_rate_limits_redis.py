"""Rate limits shared by two server processes (two relays with their own memory) through a
real Redis, and the in-process fallback when Redis cannot be reached (requests never fail)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from gateway.relay.rate_limits import RateLimits
from gateway.relay.token_check import TokenRecord
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import post_chat
from tests.support.redis_server import redis_for
from tests.support.servers import serve_asgi

# 30 seconds into a minute, the same for both processes: the window starts over in 30 s.
START = 7000 * 60 + 30.0


def frozen_clock() -> float:
    return START


@contextmanager
def server(limits: RateLimits) -> Iterator[tuple[str, RelayApp]]:
    relay = RelayApp(
        cache=RelayCache(refresh_seconds=0),
        rng=random.Random(1),
        prober=False,
        rate_limits=limits,
    )
    with serve_asgi(build_application(relay), lifespan="on") as url:
        yield url, relay


@pytest.fixture
def two_servers(transactional_db: None, settings: Any) -> Iterator[list[tuple[str, RelayApp]]]:
    with ExitStack() as stack:
        stack.enter_context(redis_for(settings))
        yield [
            stack.enter_context(server(RateLimits(settings.REDIS_URL, clock=frozen_clock)))
            for _ in range(2)
        ]


def unreachable_redis_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_two_processes_share_one_rpm_limit(
    two_servers: list[tuple[str, RelayApp]], upstream: FakeUpstream
) -> None:
    (first, _), (second, _) = two_servers
    make_channel(upstream)
    key = make_token(rpm_limit=3).key

    served = [post_chat(url, key).status_code for url in (first, second, first)]
    refused = post_chat(second, key)

    assert served == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["x-ratelimit-limit-requests"] == "3"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] == "30s"
    assert post_chat(first, key).status_code == 429
    assert len(upstream.requests) == 3


def test_tokens_noted_in_one_process_count_in_the_other(
    two_servers: list[tuple[str, RelayApp]], upstream: FakeUpstream
) -> None:
    (first, first_relay), (second, _) = two_servers
    make_channel(upstream)
    made = make_token(tpm_limit=1000)
    assert post_chat(first, made.key).status_code == 200

    async def report() -> None:
        # As the relay does once a request's usage is known: never waits, Redis in the back.
        first_relay.rate_limits.note_tokens(made.token.pk, 1000)
        await first_relay.rate_limits.aclose()  # lets the background update finish

    asyncio.run(report())
    refused = post_chat(second, made.key)

    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-limit-tokens"] == "1000"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert refused.headers["x-ratelimit-reset-tokens"] == "30s"
    assert len(upstream.requests) == 1


def test_two_limiters_racing_through_redis_admit_exactly_the_limit(settings: Any) -> None:
    with redis_for(settings):
        processes = [RateLimits(settings.REDIS_URL, clock=frozen_clock) for _ in range(2)]
        token = TokenRecord(
            id=42,
            key_hash="",
            group="default",
            enabled=True,
            expires_at=None,
            allowed_models=frozenset(),
            allowed_networks=(),
            rpm_limit=7,
        )

        async def race() -> int:
            decisions = await asyncio.gather(
                *(limits.admit(token) for _ in range(20) for limits in processes)
            )
            for limits in processes:
                await limits.aclose()
            return sum(decision.allowed for decision in decisions)

        assert asyncio.run(race()) == 7


def test_with_redis_unreachable_each_process_counts_alone_and_says_so(
    transactional_db: None, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    make_channel(upstream)
    key = make_token(rpm_limit=2).key
    limits = RateLimits(unreachable_redis_url(), clock=frozen_clock)
    caplog.set_level(logging.WARNING, logger="gateway.relay.rate_limits")

    with server(limits) as (url, _):
        statuses = [post_chat(url, key).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]  # nothing failed; the limit still held in-process
    warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.relay.rate_limits"]
    assert len(warnings) == 1
    assert "Redis cannot be reached" in warnings[0] and "this process only" in warnings[0]
