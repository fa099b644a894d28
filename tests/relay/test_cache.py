"""The hot path's database budget and how fast admin changes reach the relay."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.backends import utils as db_utils

from channels_admin.services import channel_update
from gateway.asgi import build_application
from gateway.relay.app import RelayApp
from gateway.relay.cache import RelayCache
from tests.relay.conftest import Gateway, add_channel, new_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve_asgi


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counting_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[QueryCounter]:
    """Counts SQL statements run by any thread, the relay's loader thread included."""
    counter = QueryCounter()
    original = db_utils.CursorWrapper._execute_with_wrappers

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(db_utils.CursorWrapper, "_execute_with_wrappers", counted)
        yield counter


@pytest.mark.django_db(transaction=True)
def test_steady_state_requests_touch_no_database(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_channel(upstream)
    key = new_token()
    relay = RelayApp(cache=RelayCache(refresh_seconds=3600), rng=random.Random(1))
    with serve_asgi(build_application(relay), lifespan="on") as url:
        client = Gateway(url=url, relay=relay).cached_client(key)
        client.chat.completions.create(model="gpt-4o-mini", messages=[])  # warms the caches

        with counting_queries(monkeypatch) as queries:
            for _ in range(20):
                client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert len(upstream.requests) == 21
    assert queries.count == 0


@pytest.mark.django_db(transaction=True)
def test_checking_for_changes_costs_one_query_a_request_at_most(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_channel(upstream)
    key = new_token()
    # Checks on every request (the real interval is 0.5 s): the worst case.
    relay = RelayApp(cache=RelayCache(refresh_seconds=0, last_used_flush_seconds=3600))
    with serve_asgi(build_application(relay), lifespan="on") as url:
        client = Gateway(url=url, relay=relay).cached_client(key)
        client.chat.completions.create(model="gpt-4o-mini", messages=[])

        with counting_queries(monkeypatch) as queries:
            for _ in range(10):
                client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert queries.count == 10


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db(transaction=True)
def test_a_change_reaches_the_relay_within_the_refresh_interval(
    upstream: FakeUpstream,
) -> None:
    channel = add_channel(upstream, weight=1)
    clock = FakeClock()
    cache = RelayCache(refresh_seconds=0.5, clock=clock)

    def weight_seen() -> int:
        asyncio.run(cache.ensure_fresh())
        return cache.table.candidates("default", "gpt-4o-mini")[0][0].weight

    assert weight_seen() == 1
    channel_update(channel=channel, changes={"weight": 7})
    clock.now += 0.4
    assert weight_seen() == 1  # not checked yet: no query spent
    clock.now += 0.1
    assert weight_seen() == 7
