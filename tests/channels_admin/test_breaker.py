"""channel_note_failure: BREAKER_FAILURES failures within BREAKER_WINDOW open the circuit,
counted in the database or (REDIS_URL) in Redis, shared by every process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection, connections
from django.utils import timezone

from audit.models import AuditEvent
from channels_admin import breaker
from channels_admin.models import Channel, ChannelStatus
from channels_admin.services import channel_note_failure, channel_update
from core.state import read_db_version
from tests.support.factories import make_channel
from tests.support.redis_server import redis_for


@pytest.fixture(autouse=True)
def _breaker(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.BREAKER_FAILURES = 3
    settings.BREAKER_WINDOW = 60.0


@pytest.fixture
def shared_redis(settings: Any) -> Iterator[redis.Redis]:
    with redis_for(settings) as client:
        yield client


def fail(channel: Channel, times: int, **kwargs: Any) -> list[bool]:
    return [
        channel_note_failure(channel_id=channel.pk, reason="upstream 502", **kwargs)
        for _ in range(times)
    ]


def status_of(channel: Channel) -> str:
    channel.refresh_from_db()
    return channel.status


@pytest.mark.django_db
def test_it_opens_the_circuit_at_the_nth_failure_within_the_window() -> None:
    channel = make_channel()
    version = read_db_version()
    assert fail(channel, 2) == [False, False]
    assert status_of(channel) == ChannelStatus.ENABLED
    assert read_db_version() == version  # nothing the relay needs to see yet

    assert fail(channel, 1) == [True]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.AUTO_DISABLED
    assert channel.status_reason == "3 failures within 60s; the last: upstream 502"
    assert channel.status_changed_at is not None
    assert read_db_version() > version
    event = AuditEvent.objects.filter(action="auto_disabled").get()
    assert (event.actor, event.object_id) == ("gateway", str(channel.pk))


@pytest.mark.django_db
def test_failures_spread_wider_than_the_window_never_open_it() -> None:
    channel = make_channel()
    start = timezone.now()
    assert fail(channel, 2, now=start) == [False, False]
    # The window (60 s from its first failure) is over: the next failure starts a new one.
    later = start + timedelta(seconds=61)
    assert fail(channel, 2, now=later) == [False, False]
    assert status_of(channel) == ChannelStatus.ENABLED
    assert fail(channel, 1, now=later + timedelta(seconds=59)) == [True]


@pytest.mark.django_db
def test_a_failure_of_a_channel_already_down_changes_nothing() -> None:
    channel = make_channel(status=ChannelStatus.DISABLED)
    assert fail(channel, 5) == [False] * 5
    assert status_of(channel) == ChannelStatus.DISABLED
    assert not AuditEvent.objects.filter(action="auto_disabled").exists()


@pytest.mark.django_db
def test_the_reason_is_kept_printable_and_capped() -> None:
    channel = make_channel()
    for _ in range(3):
        channel_note_failure(channel_id=channel.pk, reason="bad\x00answer " + "x" * 2000)
    channel.refresh_from_db()
    assert "\x00" not in channel.status_reason
    assert "bad\N{REPLACEMENT CHARACTER}answer" in channel.status_reason
    assert len(channel.status_reason) <= 500


@pytest.mark.django_db
def test_re_enabling_starts_a_fresh_window() -> None:
    channel = make_channel()
    fail(channel, 3)
    channel_update(channel=Channel.objects.get(pk=channel.pk), changes={"status": "enabled"})
    assert fail(channel, 2) == [False, False]
    assert status_of(channel) == ChannelStatus.ENABLED


# --- Redis -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redis_counts_to_the_trip(shared_redis: redis.Redis) -> None:
    channel = make_channel()
    assert fail(channel, 2) == [False, False]
    key = breaker.redis_key(channel.pk)
    assert int(shared_redis.get(key) or 0) == 2
    # The window is Redis's expiry, set with the first failure.
    assert 0 < shared_redis.pttl(key) <= 60_000
    # Counted in Redis, not on the row.
    assert Channel.objects.get(pk=channel.pk).breaker_failures == 0
    assert fail(channel, 1) == [True]
    assert status_of(channel) == ChannelStatus.AUTO_DISABLED
    assert shared_redis.get(key) is None  # the next window starts from zero


@pytest.mark.django_db
def test_redis_window_end_forgets_the_failures(shared_redis: redis.Redis) -> None:
    channel = make_channel()
    assert fail(channel, 2) == [False, False]
    # What Redis does when the window's expiry passes.
    shared_redis.delete(breaker.redis_key(channel.pk))
    assert fail(channel, 2) == [False, False]
    assert status_of(channel) == ChannelStatus.ENABLED


# --- concurrency -------------------------------------------------------------------------------


def _fail_at_once(channel_id: int, threads: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        try:
            start.wait()
            tripped = channel_note_failure(channel_id=channel_id, reason="timeout")
            with lock:
                results.append(tripped)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (DATABASE_URL): NOT RUN on SQLite")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_concurrent_failures_count_exactly_and_trip_once(backend: str, settings: Any) -> None:
    _needs_postgresql()
    settings.BREAKER_FAILURES = 12
    with redis_for(settings) if backend == "redis" else nullcontext():
        channel = make_channel()
        # One short of the threshold: all counted, none trips.
        assert _fail_at_once(channel.pk, 11) == [False] * 11
        assert status_of(channel) == ChannelStatus.ENABLED
        # The next burst: exactly one of them is the 12th.
        assert sorted(_fail_at_once(channel.pk, 8)) == [False] * 7 + [True]
        assert status_of(channel) == ChannelStatus.AUTO_DISABLED
        assert AuditEvent.objects.filter(action="auto_disabled").count() == 1


@pytest.mark.django_db
def test_with_redis_a_failure_below_the_threshold_costs_no_query(
    shared_redis: redis.Redis, django_assert_num_queries: Any
) -> None:
    channel = make_channel()
    with django_assert_num_queries(0):
        assert fail(channel, 2) == [False, False]
