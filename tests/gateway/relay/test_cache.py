"""The hot path's database budget and how fast admin changes reach the relay."""

from __future__ import annotations

import asyncio
import random

import pytest
from asgiref.sync import sync_to_async
from openai import AsyncOpenAI

from channels_admin.services import channel_update
from core.models import RelayState
from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.in_process import counted_queries, openai_client, run_here


async def chat(client: AsyncOpenAI) -> None:
    await client.chat.completions.create(model="gpt-4o-mini", messages=[])


@pytest.mark.django_db(transaction=True)
def test_steady_state_requests_touch_no_database(upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key
    # Usage records are written in batches on a timer; an hour keeps that write out of the count.
    relay = RelayApp(
        cache=RelayCache(refresh_seconds=3600),
        rng=random.Random(1),
        usage=usage_writer(flush_seconds=3600),
    )

    async def scenario() -> int:
        async with openai_client(build_application(relay), key) as client:
            await chat(client)  # warms the caches
            async with counted_queries() as queries:
                for _ in range(20):
                    await chat(client)
        await relay.cache.aclose()
        return len(queries)

    assert run_here(scenario) == 0
    assert len(upstream.requests) == 21


@pytest.mark.django_db(transaction=True)
def test_checking_for_changes_costs_one_query_a_request_at_most(upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key
    # Checks on every request (the real interval is 0.5 s): the worst case.
    relay = RelayApp(cache=RelayCache(refresh_seconds=0), usage=usage_writer(flush_seconds=3600))

    async def scenario() -> int:
        async with openai_client(build_application(relay), key) as client:
            await chat(client)
            async with counted_queries() as queries:
                for _ in range(10):
                    await chat(client)
        return len(queries)

    assert run_here(scenario) == 10
    assert len(upstream.requests) == 11


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db(transaction=True)
def test_a_change_reaches_the_relay_within_the_refresh_interval(
    upstream: FakeUpstream,
) -> None:
    channel = make_channel(upstream, weight=1)
    clock = FakeClock()
    cache = RelayCache(refresh_seconds=0.5, clock=clock)

    def weight() -> int:
        return cache.table.candidates("default", "gpt-4o-mini")[0][0].weight

    async def scenario() -> list[int]:
        seen = []
        await cache.ensure_fresh()  # the first load: waited for
        seen.append(weight())
        await sync_to_async(channel_update)(channel=channel, changes={"weight": 7})
        clock.now += 0.4
        await cache.ensure_fresh()
        seen.append(weight())  # not checked yet: no query spent
        clock.now += 0.1
        await cache.ensure_fresh()  # starts the check on its own timer; no request waits
        seen.append(weight())
        await asyncio.sleep(0)  # the timer's task starts and takes the lock for its check,
        assert cache._lock is not None
        async with cache._lock:  # so this waits until that check is done
            seen.append(weight())
        await cache.aclose()
        return seen

    seen = asyncio.run(scenario())

    assert seen[:2] == [1, 1]
    assert seen[2] == 1  # the request went on with the table it had
    assert seen[3] == 7  # and the timer's check brought the change within the interval


@pytest.mark.django_db(transaction=True)
def test_a_change_after_the_database_lost_its_count_still_reaches_the_relay(
    upstream: FakeUpstream,
) -> None:
    # A flushed or restored database counts again from where it stands, while the relay still
    # holds the number it last read: the next change must not repeat that number.
    channel = make_channel(upstream, weight=1)
    cache = RelayCache(refresh_seconds=0)

    async def weight_after_check() -> int:
        await cache.ensure_fresh()
        return cache.table.candidates("default", "gpt-4o-mini")[0][0].weight

    async def scenario() -> int:
        try:
            assert await weight_after_check() == 1
            await sync_to_async(RelayState.objects.all().delete)()
            await sync_to_async(channel_update)(channel=channel, changes={"weight": 7})
            return await weight_after_check()
        finally:
            await cache.aclose()

    assert run_here(scenario) == 7
