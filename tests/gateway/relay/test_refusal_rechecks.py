"""A 401 while relaying never disables a channel by itself: only a failed channel test does."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from channels_admin.models import Channel
from channels_admin.probe import TEST_PROMPT
from gateway.relay.recheck import RefusalRechecks
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway

WRONG_KEY = "sk-wrong-channel-key-1234567890abcdef"


def post_chat(gateway: Gateway, key: str, text: str = "hi") -> httpx.Response:
    return gateway.post_chat(key, messages=[{"role": "user", "content": text}])


def channel_tests(upstream: FakeUpstream) -> int:
    return sum(TEST_PROMPT.encode() in request.body for request in upstream.requests)


def test_a_401_earned_by_the_request_does_not_disable_the_channel(gateway: Gateway) -> None:
    with running_upstream(refuse_marker="poison") as picky:
        channel = make_channel(picky)
        key = make_token().key

        response = post_chat(gateway, key, "poison")
        gateway.drain_rechecks()

    assert response.status_code == 502  # the only channel refused: one clean 502 (issue 8)
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert channel.last_test_at is not None  # the channel test ran, and passed
    assert channel_tests(picky) == 1


def test_a_401_fails_over_to_the_next_channel(
    gateway: Gateway, second_upstream: FakeUpstream
) -> None:
    with running_upstream(refuse_marker="poison") as picky:
        make_channel(picky, priority=1)
        make_channel(second_upstream)
        key = make_token().key

        response = post_chat(gateway, key, "poison")
        gateway.drain_rechecks()

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from second"
    assert set(Channel.objects.values_list("status", flat=True)) == {"enabled"}


def test_a_refused_key_is_disabled_once_the_channel_test_fails(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream, name="bad key", key=WRONG_KEY, priority=1)
    make_channel(upstream, name="good key")
    key = make_token().key

    response = post_chat(gateway, key)
    gateway.drain_rechecks()

    assert response.status_code == 200
    bad = Channel.objects.get(name="bad key")
    assert bad.status == "auto_disabled"
    assert "channel test failed" in bad.status_reason
    assert WRONG_KEY not in bad.status_reason
    assert Channel.objects.get(name="good key").status == "enabled"
    # Out of rotation now: the next request goes straight to the good channel.
    before = len(upstream.requests)
    assert post_chat(gateway, key).status_code == 200
    assert len(upstream.requests) == before + 1


def test_a_flood_of_401s_runs_the_channel_test_once(gateway: Gateway) -> None:
    with running_upstream(refuse_marker="poison") as picky:
        make_channel(picky)
        key = make_token().key

        statuses = {post_chat(gateway, key, "poison").status_code for _ in range(20)}
        gateway.drain_rechecks()

    assert statuses == {502}
    assert channel_tests(picky) == 1


def test_auto_disable_off_means_no_check_and_no_disable(
    transactional_db: None, upstream: FakeUpstream, settings: Any
) -> None:
    settings.RELAY_AUTO_DISABLE = False
    with serving_gateway() as gateway:
        channel = make_channel(upstream, key=WRONG_KEY)
        key = make_token().key

        assert post_chat(gateway, key).status_code == 502
        gateway.drain_rechecks()

    assert Channel.objects.get(pk=channel.pk).status == "enabled"
    assert channel_tests(upstream) == 0


def test_a_recheck_that_breaks_is_logged_and_the_request_still_answered(
    transactional_db: None, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(channel_id: int) -> None:
        raise RuntimeError("database is locked")

    rechecks = RefusalRechecks(enabled=True, interval=60, check=broken)
    with serving_gateway(rechecks=rechecks) as gateway:
        make_channel(upstream, name="bad key", key=WRONG_KEY, priority=1)
        make_channel(upstream, name="good key")
        key = make_token().key

        with caplog.at_level(logging.ERROR, logger="gateway.relay.recheck"):
            response = post_chat(gateway, key)
            gateway.drain_rechecks()

    assert response.status_code == 200
    assert "could not recheck channel" in caplog.text
    assert Channel.objects.get(name="bad key").status == "enabled"


def test_rechecks_are_one_in_flight_and_one_per_interval_per_channel() -> None:
    now = [1000.0]
    started: list[int] = []

    async def scenario() -> None:
        release = asyncio.Event()

        async def check(channel_id: int) -> None:
            started.append(channel_id)
            await release.wait()

        rechecks = RefusalRechecks(enabled=True, interval=30, check=check, clock=lambda: now[0])
        assert rechecks.note_refused(1)
        assert not rechecks.note_refused(1)  # one in flight already
        assert rechecks.note_refused(2)  # another channel is another matter
        now[0] += 100
        assert not rechecks.note_refused(1)  # still in flight, however long ago it started
        release.set()
        await rechecks.drain()
        assert rechecks.note_refused(1)  # done, and started long enough ago
        await rechecks.drain()
        now[0] += 10
        assert not rechecks.note_refused(1)  # done, but started only 10 s ago

    asyncio.run(scenario())

    assert started == [1, 2, 1]
