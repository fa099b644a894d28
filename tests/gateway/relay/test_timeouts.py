"""Per-channel timeouts: no first byte in time fails over; a stream gone silent ends with an
error event and no [DONE]. The channels here set tiny timeouts; nothing sleeps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from channels_admin.models import Channel
from core.state import bump_relay_version
from gateway.relay.forward import timeouts_for
from gateway.relay.routing import Route
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import FaultyUpstream, running_faulty_upstream
from tests.support.live_gateway import Gateway


@pytest.fixture
def silent_first(upstream: FakeUpstream) -> Iterator[tuple[FaultyUpstream, str]]:
    """A channel that never answers (0.2 s to its first byte) tried before `upstream`, and a
    token's key."""
    with running_faulty_upstream() as silent:
        silent.answer("hang")
        make_channel(silent, priority=1, first_byte_timeout=0.2)
        make_channel(upstream)
        yield silent, make_token().key


def test_an_upstream_that_never_answers_fails_over_within_the_first_byte_timeout(
    gateway: Gateway, silent_first: tuple[FaultyUpstream, str]
) -> None:
    silent, key = silent_first
    started = time.monotonic()
    response = gateway.post_chat(key)
    elapsed = time.monotonic() - started
    assert silent.hung_up.wait(timeout=10)  # the gateway let go of it

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from upstream"
    assert silent.request_count() == 1
    assert elapsed < 5  # nowhere near the 600 s default


def test_a_stream_that_hangs_before_its_first_event_fails_over(
    gateway: Gateway, silent_first: tuple[FaultyUpstream, str]
) -> None:
    _, key = silent_first
    chunks = list(
        gateway.client(key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )

    assert next(c.choices[0].delta.content for c in chunks if c.choices) == "part0 "


def test_a_stalled_stream_ends_with_an_error_event_and_no_done(gateway: Gateway) -> None:
    with running_faulty_upstream() as stalling:
        stalling.answer("stall")
        make_channel(stalling, stream_idle_timeout=0.2)
        key = make_token().key

        with gateway.stream_chat(key) as response:
            body = response.read()
        assert stalling.hung_up.wait(timeout=10)

    assert response.status_code == 200
    events = [line for line in body.split(b"\n") if line.startswith(b"data: ")]
    assert b"part0" in events[0] and b"part1" in events[1]
    assert b'"error"' in events[-1]
    assert b"upstream_timeout" in events[-1]
    assert b"[DONE]" not in body


def test_the_total_timeout_caps_a_stream_that_trickles(gateway: Gateway) -> None:
    with running_faulty_upstream() as stalling:
        stalling.answer("stall")
        # Idle alone would wait a minute; the total cap ends it first.
        make_channel(stalling, stream_idle_timeout=60, total_timeout=0.3)
        key = make_token().key

        started = time.monotonic()
        response = gateway.post_chat(key, stream=True)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert b"upstream_timeout" in response.content
    assert b"[DONE]" not in response.content
    assert elapsed < 30


def test_a_channel_without_timeouts_uses_the_defaults(settings: Any) -> None:
    settings.CONNECT_TIMEOUT, settings.FIRST_BYTE_TIMEOUT = 7.0, 500.0
    settings.STREAM_IDLE_TIMEOUT, settings.TOTAL_TIMEOUT = 90.0, 1000.0
    route = Route(channel_id=1, name="c", base_url="http://x", api_key="k", weight=1, priority=0)
    timeouts = timeouts_for(route)
    assert (timeouts.connect, timeouts.first_byte, timeouts.stream_idle, timeouts.total) == (
        7.0,
        500.0,
        90.0,
        1000.0,
    )
    own = Route(
        channel_id=1,
        name="c",
        base_url="http://x",
        api_key="k",
        weight=1,
        priority=0,
        first_byte_timeout=5.0,
    )
    assert timeouts_for(own).first_byte == 5.0
    assert timeouts_for(own).stream_idle == 90.0


def test_timeouts_changed_on_the_channel_apply_to_the_next_request(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    with running_faulty_upstream() as silent:
        silent.answer("hang")
        channel = make_channel(silent, priority=1)
        make_channel(upstream)
        key = make_token().key
        Channel.objects.filter(pk=channel.pk).update(first_byte_timeout=0.2)
        bump_relay_version()

        response = gateway.post_chat(key)

    assert response.status_code == 200
    assert silent.request_count() == 1
