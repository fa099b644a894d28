"""Two server processes (two relays with their own memory, one database) share a breaker
trip and a cooldown: what one process learns, the other acts on without an attempt."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from channels_admin.models import Channel
from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from gateway.relay.version import RedisVersionReader
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import drain_relay, post_chat, running_faulty_upstream
from tests.support.redis_server import redis_for
from tests.support.servers import serve_asgi


@contextmanager
def server(redis_url: str) -> Iterator[tuple[str, RelayApp]]:
    # Refreshing on every request stands in for "within a second".
    relay = RelayApp(
        cache=RelayCache(
            refresh_seconds=0,
            read_version=RedisVersionReader(redis_url) if redis_url else None,
        ),
        rng=random.Random(1),
        prober=False,
    )
    with serve_asgi(build_application(relay), lifespan="on") as url:
        yield url, relay


@pytest.fixture(params=["database", "redis"])
def two_servers(
    request: pytest.FixtureRequest, transactional_db: None, settings: Any
) -> Iterator[list[tuple[str, RelayApp]]]:
    """Sharing through the database alone, or through Redis (breaker counts, versions)."""
    settings.BREAKER_FAILURES = 2
    settings.BREAKER_WINDOW = 600.0
    settings.REDIS_URL = ""
    with ExitStack() as stack:
        if request.param == "redis":
            stack.enter_context(redis_for(settings))
        yield [stack.enter_context(server(settings.REDIS_URL)) for _ in range(2)]


def test_a_breaker_trip_in_one_process_takes_the_channel_out_in_the_other(
    two_servers: list[tuple[str, RelayApp]], upstream: FakeUpstream
) -> None:
    (first, first_relay), (second, _) = two_servers
    with running_faulty_upstream() as broken:
        broken.answer("status", 500)
        channel = make_channel(broken, priority=1)
        make_channel(upstream)
        key = make_token().key

        for _ in range(2):
            assert post_chat(first, key).status_code == 200
            drain_relay(first_relay)
        served = [post_chat(second, key).status_code for _ in range(3)]

    assert served == [200] * 3
    assert broken.request_count() == 2  # none from the second process
    assert Channel.objects.get(pk=channel.pk).status == "auto_disabled"


def test_a_cooldown_in_one_process_is_kept_by_the_other(
    two_servers: list[tuple[str, RelayApp]], upstream: FakeUpstream
) -> None:
    (first, first_relay), (second, _) = two_servers
    with running_faulty_upstream() as limited:
        limited.answer("status", 429, {"error": {"message": "slow down"}}, retry_after="300")
        make_channel(limited, priority=1)
        make_channel(upstream)
        key = make_token().key

        assert post_chat(first, key).status_code == 200
        drain_relay(first_relay)
        limited.answer("ok")
        served = [post_chat(second, key).json()["choices"][0]["message"]["content"] for _ in "ab"]

    assert served == ["hello from upstream"] * 2
    assert limited.request_count() == 1
