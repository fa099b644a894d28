"""A 429 cools its channel down for Retry-After (seconds or an HTTP date) or the default:
skipped while cooling, never disabled, back by itself once the time has passed (a clock the
test moves: nothing sleeps)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest

from channels_admin.models import Channel
from gateway.relay.health import ChannelHealth
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import FaultyUpstream, drain_relay, running_faulty_upstream
from tests.support.live_gateway import Gateway, serving_gateway


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_gateway(transactional_db: None, clock: Clock, settings: Any) -> Iterator[Gateway]:
    settings.COOLDOWN_SECONDS = 30.0
    with serving_gateway(channel_health=ChannelHealth(clock=clock)) as gateway:
        yield gateway


@pytest.fixture
def limited() -> Iterator[FaultyUpstream]:
    with running_faulty_upstream(name="limited") as upstream:
        yield upstream


def _limited_then_fine(
    gateway: Gateway, limited: FaultyUpstream, upstream: FakeUpstream, **retry: str
) -> tuple[str, Channel]:
    limited.answer("status", 429, {"error": {"message": "slow down"}}, **retry)
    channel = make_channel(limited, priority=1)
    make_channel(upstream)
    key = make_token().key
    assert gateway.post_chat(key).json()["choices"][0]["message"]["content"] == (
        "hello from upstream"
    )
    drain_relay(gateway.relay)
    limited.answer("ok")
    return key, channel


def test_retry_after_seconds_is_honoured_and_expires_by_itself(
    clocked_gateway: Gateway, clock: Clock, limited: FaultyUpstream, upstream: FakeUpstream
) -> None:
    key, channel = _limited_then_fine(clocked_gateway, limited, upstream, retry_after="120")

    for _ in range(3):
        assert clocked_gateway.post_chat(key).status_code == 200
    assert limited.request_count() == 1  # skipped while cooling
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert channel.cooldown_until is not None
    assert 100 < channel.cooldown_until.timestamp() - time.time() <= 121

    clock.offset = 119
    clocked_gateway.post_chat(key)
    assert limited.request_count() == 1
    clock.offset = 121
    response = clocked_gateway.post_chat(key)
    assert response.json()["choices"][0]["message"]["content"] == "hello from limited"
    assert limited.request_count() == 2


def test_retry_after_as_an_http_date_is_honoured(
    clocked_gateway: Gateway, clock: Clock, limited: FaultyUpstream, upstream: FakeUpstream
) -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    key, _ = _limited_then_fine(clocked_gateway, limited, upstream, retry_after=when)

    clock.offset = 200
    clocked_gateway.post_chat(key)
    assert limited.request_count() == 1
    clock.offset = 302
    clocked_gateway.post_chat(key)
    assert limited.request_count() == 2


def test_without_retry_after_the_default_cool_down_applies(
    clocked_gateway: Gateway, clock: Clock, limited: FaultyUpstream, upstream: FakeUpstream
) -> None:
    key, _ = _limited_then_fine(clocked_gateway, limited, upstream)

    clock.offset = 28
    clocked_gateway.post_chat(key)
    assert limited.request_count() == 1
    clock.offset = 31
    clocked_gateway.post_chat(key)
    assert limited.request_count() == 2


def test_many_429s_never_disable_a_channel(gateway: Gateway, limited: FaultyUpstream) -> None:
    limited.answer("status", 429, {"error": {"message": "slow down"}}, retry_after="1")
    channel = make_channel(limited)
    key = make_token().key

    statuses = {gateway.post_chat(key).status_code for _ in range(8)}
    drain_relay(gateway.relay)

    assert statuses == {503}
    channel.refresh_from_db()
    assert channel.status == "enabled"


def test_every_channel_cooling_is_a_503_without_an_attempt(
    clocked_gateway: Gateway, limited: FaultyUpstream
) -> None:
    limited.answer("status", 429, {"error": {"message": "slow down"}}, retry_after="60")
    make_channel(limited)
    key = make_token().key
    clocked_gateway.post_chat(key)

    response = clocked_gateway.post_chat(key)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "channels_cooling_down"
    assert limited.request_count() == 1
