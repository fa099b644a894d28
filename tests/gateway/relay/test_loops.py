"""A request that loops back to a gateway ends at once; a busy channel cannot starve others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway


def test_a_channel_pointing_at_the_gateway_itself_ends_in_one_clean_error(
    transactional_db: None,
) -> None:
    with serving_gateway(max_hops=3) as gateway:
        # The channel's "upstream" is this gateway, with a key this gateway accepts.
        make_channel(name="loop", base_url=gateway.v1, key=make_token().key)
        key = make_token().key

        response = gateway.post_chat(key)
        gateway.requests.wait_finished(4)

    assert response.status_code == 508
    assert response.json()["error"]["code"] == "loop_detected"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    # The client's request and three nested ones: the third gateway in a row says "loop".
    assert gateway.requests.started == 4


def test_a_request_at_the_hop_limit_is_refused_before_any_upstream(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(key, headers={"X-Tollgate-Hops": "3"})

    assert response.status_code == 508
    assert response.json()["error"]["code"] == "loop_detected"
    assert upstream.requests == []


def test_each_gateway_counts_itself_in_the_hop_header(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    from_a_gateway = gateway.post_chat(key, headers={"X-Tollgate-Hops": "1"})
    nonsense = gateway.post_chat(key, headers={"X-Tollgate-Hops": "-40"})

    assert from_a_gateway.status_code == 200
    assert nonsense.status_code == 200
    assert [r.headers["x-tollgate-hops"] for r in upstream.requests] == ["2", "1"]


@dataclass
class HeldStream:
    """A streamed answer that holds its channel's only slot until `finish`."""

    gateway: Gateway
    upstream: FakeUpstream
    key: str
    release: threading.Event
    response: httpx.Response
    lines: Iterator[str]

    def finish(self) -> None:
        self.release.set()
        assert "data: [DONE]" in list(self.lines)
        self.response.close()


@contextmanager
def holding_a_stream(
    fallback: FakeUpstream | None = None, **gateway_options: Any
) -> Iterator[HeldStream]:
    """A gateway whose channels take one request at a time, the first one's slot taken by a
    stream that waits; `fallback` is a second channel, tried after it."""
    release = threading.Event()
    with (
        running_upstream(hold_stream=release) as held,
        serving_gateway(channel_max_connections=1, **gateway_options) as gateway,
        httpx.Client(timeout=30) as client,
    ):
        make_channel(held, priority=1)
        if fallback is not None:
            make_channel(fallback)
        key = make_token().key
        request = client.build_request(
            "POST",
            gateway.v1 + "/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [], "stream": True},
        )
        response = client.send(request, stream=True)
        lines = response.iter_lines()
        # The first event is through: the stream holds its channel's slot from here on.
        assert next(lines).startswith("data: ")
        yield HeldStream(gateway, held, key, release, response, lines)


def test_a_channel_at_its_cap_is_skipped_for_the_next(
    transactional_db: None, second_upstream: FakeUpstream
) -> None:
    with holding_a_stream(second_upstream, retries=0) as held:
        # With no retries left, a skipped busy channel must not count as an attempt.
        response = held.gateway.post_chat(held.key)
        held.finish()

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from second"
    assert len(held.upstream.requests) == 1


def test_when_every_channel_is_at_its_cap_the_client_hears_busy(transactional_db: None) -> None:
    with holding_a_stream() as held:
        busy = held.gateway.post_chat(held.key)
        held.finish()
        held.gateway.requests.wait_finished(2)  # both done: the slot is free again
        after = held.gateway.post_chat(held.key)

    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "channel_busy"
    assert after.status_code == 200
    assert len(held.upstream.requests) == 2
