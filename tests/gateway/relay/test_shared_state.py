"""Several gateway instances sharing state through a real Redis (REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from asgiref.sync import sync_to_async

from channels_admin.services import channel_update
from core import state
from core.models import RelayState
from gateway.relay.cache import RelayCache
from gateway.relay.version import RedisVersionReader
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream
from tests.support.in_process import counted_queries, run_here

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


async def weight_seen(cache: RelayCache) -> int:
    await cache.ensure_fresh()
    return cache.table.candidates("default", "gpt-4o-mini")[0][0].weight


@pytest.mark.django_db(transaction=True)
def test_a_change_reaches_every_instance_through_redis(
    redis_url: str, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream, weight=1)
    first = RelayCache(refresh_seconds=0, read_version=RedisVersionReader(redis_url))
    second = RelayCache(refresh_seconds=0, read_version=RedisVersionReader(redis_url))

    # One loop for the whole test, as in a gateway process.
    async def scenario() -> None:
        try:
            assert await weight_seen(first) == await weight_seen(second) == 1

            async with counted_queries() as queries:
                await weight_seen(first)
                await weight_seen(second)
            assert len(queries) == 0  # the version check asked Redis, not the database

            await sync_to_async(channel_update)(channel=channel, changes={"weight": 9})

            assert redis.Redis.from_url(redis_url).get(state.REDIS_VERSION_KEY) is not None
            assert await weight_seen(first) == 9
            assert await weight_seen(second) == 9
        finally:
            await first.aclose()
            await second.aclose()

    run_here(scenario)


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_redis_falls_back_to_the_database(
    redis_url: str, upstream: FakeUpstream
) -> None:
    channel = make_channel(upstream, weight=1)
    # Nothing listens on port 1: every Redis read fails at once.
    cache = RelayCache(refresh_seconds=0, read_version=RedisVersionReader("redis://127.0.0.1:1/0"))

    async def scenario() -> None:
        try:
            assert await weight_seen(cache) == 1

            await sync_to_async(channel_update)(channel=channel, changes={"weight": 4})

            assert await weight_seen(cache) == 4
        finally:
            await cache.aclose()

    run_here(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_change_after_the_database_lost_its_count_still_reaches_every_instance(
    redis_url: str, upstream: FakeUpstream
) -> None:
    # A flushed or restored database counts again from where it stands, while Redis and the
    # relays still hold the number they last saw: the next change must not repeat it.
    channel = make_channel(upstream, weight=1)
    cache = RelayCache(refresh_seconds=0, read_version=RedisVersionReader(redis_url))

    async def scenario() -> int:
        try:
            assert await weight_seen(cache) == 1
            await sync_to_async(RelayState.objects.all().delete)()
            await sync_to_async(channel_update)(channel=channel, changes={"weight": 6})
            return await weight_seen(cache)
        finally:
            await cache.aclose()

    assert run_here(scenario) == 6
