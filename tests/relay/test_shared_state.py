"""Several gateway instances sharing state through a real Redis (REDIS_URL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import redis

from channels_admin.services import channel_update
from core import state
from gateway.relay.cache import RedisVersionReader, RelayCache
from tests.relay.conftest import add_channel
from tests.relay.test_cache import counting_queries
from tests.support.fake_upstream import FakeUpstream

REDIS_URL = os.environ.get("TOLLGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url(settings: object) -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"REDIS NOT REACHABLE at {REDIS_URL} ({exc}): shared-state tests NOT RUN")
    client.delete(state.REDIS_VERSION_KEY)
    settings.REDIS_URL = REDIS_URL  # type: ignore[attr-defined]
    state._sync_redis.cache_clear()
    yield REDIS_URL
    client.delete(state.REDIS_VERSION_KEY)
    state._sync_redis.cache_clear()
    client.close()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One loop for a whole test, as in a gateway process."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def weight_seen(loop: asyncio.AbstractEventLoop, cache: RelayCache) -> int:
    loop.run_until_complete(cache.ensure_fresh())
    return cache.table.candidates("default", "gpt-4o-mini")[0][0].weight


@pytest.mark.django_db(transaction=True)
def test_a_change_reaches_every_instance_through_redis(
    redis_url: str,
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
    loop: asyncio.AbstractEventLoop,
) -> None:
    channel = add_channel(upstream, weight=1)
    first = RelayCache(refresh_seconds=0, read_version=RedisVersionReader(redis_url))
    second = RelayCache(refresh_seconds=0, read_version=RedisVersionReader(redis_url))
    assert weight_seen(loop, first) == weight_seen(loop, second) == 1

    with counting_queries(monkeypatch) as queries:
        weight_seen(loop, first)
        weight_seen(loop, second)
    assert queries.count == 0  # the version check asked Redis, not the database

    channel_update(channel=channel, changes={"weight": 9})

    assert redis.Redis.from_url(redis_url).get(state.REDIS_VERSION_KEY) is not None
    assert weight_seen(loop, first) == 9
    assert weight_seen(loop, second) == 9
    loop.run_until_complete(first.aclose())
    loop.run_until_complete(second.aclose())


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_redis_falls_back_to_the_database(
    redis_url: str, upstream: FakeUpstream, loop: asyncio.AbstractEventLoop
) -> None:
    channel = add_channel(upstream, weight=1)
    # Nothing listens on port 1: every Redis read fails at once.
    cache = RelayCache(refresh_seconds=0, read_version=RedisVersionReader("redis://127.0.0.1:1/0"))
    assert weight_seen(loop, cache) == 1

    channel_update(channel=channel, changes={"weight": 4})

    assert weight_seen(loop, cache) == 4
    loop.run_until_complete(cache.aclose())
