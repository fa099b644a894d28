from __future__ import annotations

import threading

import pytest

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway


def test_it_relays_a_chat_completion(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    reply = gateway.client(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )

    assert reply.choices[0].message.content == "hello from upstream"
    assert reply.model == "gpt-4o-mini"
    assert reply.usage is not None and reply.usage.total_tokens == 8
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json()["messages"] == [{"role": "user", "content": "hi"}]


def test_the_upstream_never_sees_the_downstream_token(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    gateway.client(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )

    sent = upstream.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {upstream.api_key}"
    assert key not in repr(sent.headers)
    assert key.encode() not in sent.body


def test_it_streams_a_chat_completion(gateway: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    stream = gateway.client(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(stream)

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "part0 part1 part2 "
    assert all(chunk.model == "gpt-4o-mini" for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_chunks_arrive_before_the_upstream_finishes(gateway: Gateway) -> None:
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        key = make_token().key
        stream = gateway.client(key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        first = next(iter(stream))
        # The upstream is still waiting for `release`: this chunk cannot have been buffered.
        assert not held.stream_finished.is_set()
        assert first.choices[0].delta.content == "part0 "
        release.set()
        rest = list(stream)
        assert held.stream_finished.is_set()
        assert rest[-1].choices[0].finish_reason == "stop"


def test_a_client_that_disconnects_cancels_the_upstream_request(gateway: Gateway) -> None:
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        key = make_token().key
        with gateway.stream_chat(key) as response:
            assert response.headers["x-accel-buffering"] == "no"
            first = next(response.iter_lines())
            assert first.startswith("data: ")
        # Closing the client's connection must close the gateway's upstream connection.
        assert held.client_disconnected.wait(timeout=10)
        assert not held.stream_finished.is_set()


@pytest.mark.parametrize("stream", [False, True])
def test_it_returns_and_forwards_a_request_id(
    gateway: Gateway, upstream: FakeUpstream, stream: bool
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(key, headers={"X-Request-Id": "req-abc.123"}, stream=stream)

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-abc.123"
    assert upstream.requests[-1].headers["x-request-id"] == "req-abc.123"


def test_it_makes_a_request_id_when_the_client_sends_none(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(key)

    made = response.headers["x-request-id"]
    assert len(made) == 32
    assert upstream.requests[-1].headers["x-request-id"] == made
