"""A channel that keeps failing is taken out of rotation (the breaker itself is the channel
app's): after the trip, requests go to the other channels without trying it."""

from __future__ import annotations

from typing import Any

import pytest

from channels_admin.models import Channel
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.faulty_upstream import (
    CANARY_KEY,
    FaultyUpstream,
    drain_relay,
    running_faulty_upstream,
)
from tests.support.live_gateway import Gateway


@pytest.fixture(autouse=True)
def _three_strikes(settings: Any) -> None:
    settings.BREAKER_FAILURES = 3
    settings.BREAKER_WINDOW = 600.0
    settings.REDIS_URL = ""


@pytest.mark.parametrize(
    "fault",
    [("status", 500), ("html", 200), ("hang", 0)],
    ids=["5xx", "html", "timeout"],
)
def test_repeated_failures_open_the_circuit_and_the_channel_gets_no_more_requests(
    gateway: Gateway, upstream: FakeUpstream, fault: tuple[str, int]
) -> None:
    with running_faulty_upstream() as broken:
        broken.answer(fault[0], fault[1])
        channel = make_channel(broken, priority=1, first_byte_timeout=0.2)
        make_channel(upstream)
        key = make_token().key

        for _ in range(3):
            assert gateway.post_chat(key).status_code == 200
            drain_relay(gateway.relay)
        channel.refresh_from_db()
        assert channel.status == "auto_disabled"
        tried = broken.request_count()

        for _ in range(3):
            assert gateway.post_chat(key).status_code == 200

    assert tried == 3
    assert broken.request_count() == 3  # skipped without an attempt
    assert CANARY_KEY not in channel.status_reason
    assert broken.hostport not in channel.status_reason
    assert channel.status_reason


def test_failures_below_the_threshold_keep_the_channel(
    gateway: Gateway, faulty_and_good: tuple[FaultyUpstream, Channel]
) -> None:
    _, channel = faulty_and_good
    key = make_token().key

    for _ in range(2):
        assert gateway.post_chat(key).status_code == 200
    drain_relay(gateway.relay)

    channel.refresh_from_db()
    assert channel.status == "enabled"


def test_a_client_error_is_not_a_failure_of_the_channel(gateway: Gateway) -> None:
    with running_faulty_upstream() as strict:
        strict.answer("status", 400, {"error": {"message": "bad max_tokens", "code": "bad"}})
        channel = make_channel(strict)
        key = make_token().key

        statuses = [gateway.post_chat(key).status_code for _ in range(4)]
        drain_relay(gateway.relay)

    assert statuses == [400] * 4
    channel.refresh_from_db()
    assert channel.status == "enabled"


@pytest.fixture
def faulty_and_good(upstream: FakeUpstream) -> Any:
    with running_faulty_upstream() as broken:
        broken.answer("status", 502)
        channel = make_channel(broken, priority=1)
        make_channel(upstream)
        yield broken, channel
