"""The relay's upstream connections: an answer read to its end hands its connection back to
the pool for the next request; one cut short is closed, never handed to another request."""

from __future__ import annotations

import threading

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway


def test_a_finished_answer_hands_its_connection_to_the_next_request(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    for stream in (False, True, False, True):
        response = gateway.post_chat(key, stream=stream)
        assert response.status_code == 200
        response.read()

    peers = {recorded.peer for recorded in upstream.requests}
    assert len(upstream.requests) == 4
    assert len(peers) == 1 and None not in peers


def test_an_answer_cut_short_is_not_handed_to_another_request(gateway: Gateway) -> None:
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        key = make_token().key
        with gateway.stream_chat(key) as response:
            assert next(response.iter_lines()).startswith("data: ")
        # The client left mid-stream: the gateway closes that upstream connection.
        assert held.client_disconnected.wait(timeout=10)
        release.set()

        answered = gateway.post_chat(key)

        assert answered.status_code == 200
        cut, after = held.requests
        assert cut.peer is not None and after.peer is not None
        assert cut.peer != after.peer
