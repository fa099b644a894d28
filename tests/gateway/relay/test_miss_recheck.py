"""A channel or token created through the API is usable on the very next request, on every
process: a miss (unknown key, unknown model) re-checks for admin changes before answering.
The relays here refresh only once an hour, so only that re-check can explain a success."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

import pytest
from django.test import Client

from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from gateway.relay.routing import EMPTY_TABLE
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import post_chat
from tests.support.servers import serve_asgi
from usage.pricing import EMPTY_PRICE_BOOK

HOUR = 3600.0


@contextmanager
def slow_refreshing_server() -> Iterator[str]:
    relay = RelayApp(
        cache=RelayCache(refresh_seconds=HOUR),
        rng=random.Random(1),
        prober=False,
    )
    with serve_asgi(build_application(relay), lifespan="on") as url:
        yield url


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        first = stack.enter_context(slow_refreshing_server())
        second = stack.enter_context(slow_refreshing_server())
        # Both have loaded (empty) tables already: the next change is news to them.
        for url in (first, second):
            assert post_chat(url, "sk-tg-nobody").status_code == 401
        yield first, second


def create(api: Client, path: str, body: dict[str, object]) -> dict[str, object]:
    """Through the JSON admin API (in this thread: the servers only relay)."""
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == 201, response.content
    result: dict[str, object] = response.json()
    return result


def test_a_channel_and_token_created_through_the_api_work_on_the_first_call_everywhere(
    two_servers: tuple[str, str], upstream: FakeUpstream, api: Client
) -> None:
    first, second = two_servers
    create(
        api,
        "/api/channels",
        {
            "name": "fresh",
            "base_url": upstream.v1,
            "key": upstream.api_key,
            "models": ["gpt-4o-mini"],
        },
    )
    key = str(create(api, "/api/tokens", {"name": "bot"})["key"])

    on_first = post_chat(first, key)
    on_second = post_chat(second, key)

    assert on_first.status_code == 200, on_first.text
    assert on_second.status_code == 200, on_second.text
    assert on_second.json()["choices"][0]["message"]["content"] == "hello from upstream"


def test_a_channel_added_right_after_a_miss_works_on_the_first_call(
    two_servers: tuple[str, str], upstream: FakeUpstream, api: Client
) -> None:
    _, second = two_servers
    key = str(create(api, "/api/tokens", {"name": "bot"})["key"])
    assert post_chat(second, key).status_code == 404  # no channel yet: model_not_found

    create(
        api,
        "/api/channels",
        {
            "name": "late",
            "base_url": upstream.v1,
            "key": upstream.api_key,
            "models": ["gpt-4o-mini"],
        },
    )
    response = post_chat(second, key)

    assert response.status_code == 200, response.text


class CountingVersion:
    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self) -> int:
        self.reads += 1
        return 7


def test_a_flood_of_misses_is_one_check() -> None:
    reads = CountingVersion()
    cache = RelayCache(read_version=reads, miss_recheck_seconds=0.25)

    async def flood() -> list[bool]:
        await cache.check_now()  # loaded: from now on a check only reads the version
        return await asyncio.gather(*(cache.recheck_after_miss() for _ in range(50)))

    with (
        patch("gateway.relay.table.load_routing_table", return_value=(1, EMPTY_TABLE)),
        patch("gateway.relay.cache.load_price_book", return_value=EMPTY_PRICE_BOOK),
    ):
        results = asyncio.run(flood())

    # The load, then the check the first miss started; misses that came after it started
    # share one more (the first may have read too early for them), an interval later.
    assert reads.reads <= 3
    assert results == [False] * 50  # nothing changed
