"""A request that loops back to a gateway ends at once; a busy channel cannot starve others."""

from __future__ import annotations

import threading
from collections.abc import Iterator

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


def hold_a_stream(
    gateway: Gateway, key: str, client: httpx.Client
) -> tuple[httpx.Response, Iterator[str]]:
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
    return response, lines


def test_a_channel_at_its_cap_is_skipped_for_the_next(
    transactional_db: None, second_upstream: FakeUpstream
) -> None:
    release = threading.Event()
    with (
        running_upstream(hold_stream=release) as held,
        serving_gateway(channel_max_connections=1, retries=0) as gateway,
        httpx.Client(timeout=30) as client,
    ):
        make_channel(held, priority=1)
        make_channel(second_upstream)
        key = make_token().key
        stream, lines = hold_a_stream(gateway, key, client)

        # With no retries left, a skipped busy channel must not count as an attempt.
        response = gateway.post_chat(key)

        release.set()
        assert "data: [DONE]" in list(lines)
        stream.close()

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from second"
    assert len(held.requests) == 1


def test_when_every_channel_is_at_its_cap_the_client_hears_busy(transactional_db: None) -> None:
    release = threading.Event()
    with (
        running_upstream(hold_stream=release) as held,
        serving_gateway(channel_max_connections=1) as gateway,
        httpx.Client(timeout=30) as client,
    ):
        make_channel(held)
        key = make_token().key
        stream, lines = hold_a_stream(gateway, key, client)

        busy = gateway.post_chat(key)

        release.set()
        assert "data: [DONE]" in list(lines)
        stream.close()
        gateway.requests.wait_finished(2)  # both done: the slot is free again
        after = gateway.post_chat(key)

    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "channel_busy"
    assert after.status_code == 200
    assert len(held.requests) == 2
