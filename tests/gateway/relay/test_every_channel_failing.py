"""When every channel fails, the client gets one clean 502/503/504 in OpenAI's shape, with
the last upstream's error scrubbed: nothing of a channel's key, address, host or port."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import make_channel, make_token
from tests.support.faulty_upstream import CANARY_KEY, FaultyUpstream, running_faulty_upstream
from tests.support.live_gateway import Gateway


def assert_clean(response: Any, upstreams: list[FaultyUpstream]) -> None:
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    everything = response.text + repr(dict(response.headers))
    assert CANARY_KEY not in everything
    for upstream in upstreams:
        assert upstream.hostport not in everything
        assert upstream.port not in everything
    assert "127.0.0.1" not in everything
    assert "x-upstream-debug" not in response.headers


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, None, 502),
        (503, {"error": {"message": "overloaded {echo}"}}, 502),
        (401, {"error": {"message": "Incorrect API key provided: {echo}"}}, 502),
        (429, {"error": {"message": "slow down {echo}", "code": "rate_limit_exceeded"}}, 503),
        (502, b"<html>bad gateway</html>", 502),
    ],
)
def test_every_channel_failing_is_one_clean_error(
    gateway: Gateway, status: int, body: Any, expected: int
) -> None:
    with (
        running_faulty_upstream(name="first") as first,
        running_faulty_upstream(name="second") as second,
    ):
        for upstream in (first, second):
            upstream.answer("status", status, body)
            make_channel(upstream)
        key = make_token().key

        response = gateway.post_chat(key)
        gateway.drain_rechecks()

    assert response.status_code == expected
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"].startswith("No channel could answer")
    assert first.request_count() + second.request_count() >= 2
    assert_clean(response, [first, second])


def test_the_last_upstream_message_is_kept_scrubbed(gateway: Gateway) -> None:
    with running_faulty_upstream() as upstream:
        upstream.answer("status", 500, {"error": {"message": "GPU melted {echo}"}})
        make_channel(upstream)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "GPU melted" in error["message"]
    assert "[redacted]" in error["message"]
    assert_clean(response, [upstream])


def test_every_channel_hanging_is_a_504(gateway: Gateway) -> None:
    with running_faulty_upstream() as upstream:
        upstream.answer("hang")
        make_channel(upstream, first_byte_timeout=0.2)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert_clean(response, [upstream])


def test_a_429_everywhere_says_when_to_retry(gateway: Gateway) -> None:
    with running_faulty_upstream() as upstream:
        upstream.answer("status", 429, {"error": {"message": "slow down"}}, retry_after="42")
        make_channel(upstream)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "42"
