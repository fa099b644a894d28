"""Streams: usage asked of the upstream, read from its last chunk, hidden from a client that
did not ask; estimated when it never comes or the client leaves."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.usage_records import FAST, wait_for_records
from usage.counting import estimate_text_tokens

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def metered(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


def events(response: httpx.Response) -> list[Any]:
    """The data of each event the client received ("[DONE]" as a string)."""
    found = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            data = line[5:].strip()
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def chunk(choices: list[Any], **extra: Any) -> bytes:
    event = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    return b"data: " + json.dumps({**event, "choices": choices, **extra}).encode() + b"\n\n"


def delta(content: str) -> dict[str, Any]:
    return {"index": 0, "delta": {"content": content}, "finish_reason": None}


def stream(gateway: Gateway, key: str, **body: Any) -> list[Any]:
    with gateway.stream_chat(key, messages=MESSAGES, **body) as response:
        assert response.status_code == 200
        return events(response)


def test_usage_is_asked_for_read_and_hidden_from_a_client_that_did_not_ask(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    received = stream(metered, key, temperature=0.5)

    sent = upstream.requests[0].json()
    assert sent == {
        "stream_options": {"include_usage": True},
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "stream": True,
        "temperature": 0.5,
    }
    assert received[-1] == "[DONE]"
    assert not any("usage" in event for event in received[:-1])
    # The last chunk carried a choice too: it still arrives, without the usage.
    assert received[-2]["choices"][0]["finish_reason"] == "stop"
    [record] = wait_for_records(1)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (5, 3, 8)
    assert (record.stream, record.estimated, record.status) == (True, False, 200)


def test_a_separate_usage_chunk_is_dropped_for_a_client_that_did_not_ask(
    metered: Gateway,
) -> None:
    script = [
        chunk([delta("Hi")], usage=None),
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=None),
        chunk([], usage={"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}),
        b"data: [DONE]\n\n",
    ]
    with running_upstream(stream_script=script) as scripted:
        make_channel(scripted)
        key = make_token().key

        received = stream(metered, key)

    assert [event if event == "[DONE]" else event["choices"] for event in received] == [
        [delta("Hi")],
        [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "[DONE]",
    ]
    [record] = wait_for_records(1)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (11, 2, 13)
    assert record.estimated is False


def test_a_client_that_asked_for_usage_gets_it(metered: Gateway, upstream: FakeUpstream) -> None:
    make_channel(upstream)
    key = make_token().key

    received = stream(metered, key, stream_options={"include_usage": True})

    assert received[-2]["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    assert upstream.requests[0].json()["stream_options"] == {"include_usage": True}
    [record] = wait_for_records(1)
    assert (record.total_tokens, record.estimated) == (8, False)


def test_a_client_that_said_no_to_usage_is_asked_for_upstream_and_shown_none(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    received = stream(metered, key, stream_options={"include_usage": False})

    assert upstream.requests[0].json()["stream_options"] == {"include_usage": True}
    assert not any("usage" in event for event in received[:-1])
    assert wait_for_records(1)[0].total_tokens == 8


def test_a_stream_without_usage_is_estimated_from_the_text_relayed(metered: Gateway) -> None:
    script = [
        chunk([delta("Hello there, ")]),
        chunk([delta("你好")]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        b"data: [DONE]\n\n",
    ]
    with running_upstream(stream_script=script) as scripted:
        make_channel(scripted)
        key = make_token().key

        stream(metered, key)

    [record] = wait_for_records(1)
    assert record.estimated is True
    assert record.completion_tokens == estimate_text_tokens("Hello there, 你好") == 6
    assert record.prompt_tokens == 4 + 3 + estimate_text_tokens("Say hello")
    assert record.total_tokens == record.prompt_tokens + record.completion_tokens
    assert record.status == 200


def test_a_long_stream_without_usage_is_estimated_from_all_it_relayed(metered: Gateway) -> None:
    # Far past what the tap keeps (stream_usage.MAX_KEPT_BYTES): the estimate is scaled from
    # the part kept to all that was relayed.
    words = [f"word{n % 10} " for n in range(2000)]
    script = [chunk([delta(word)]) for word in words] + [b"data: [DONE]\n\n"]
    with running_upstream(stream_script=script) as scripted:
        make_channel(scripted)
        key = make_token().key

        received = stream(metered, key)

    assert len(received) == len(words) + 1
    [record] = wait_for_records(1)
    assert record.estimated is True
    whole = estimate_text_tokens("".join(words))
    assert abs(record.completion_tokens - whole) <= whole // 100


def test_a_stream_the_client_left_is_recorded_499_and_estimated(metered: Gateway) -> None:
    held = threading.Event()
    with running_upstream(hold_stream=held, stream_chunks=3) as slow:
        make_channel(slow)
        key = make_token().key

        with metered.stream_chat(key, messages=MESSAGES) as response:
            first = next(line for line in response.iter_lines() if line.startswith("data:"))
        # Leaving the block hung up; the upstream sees the relay cancel its request.
        assert slow.client_disconnected.wait(10)

    assert "part0" in first
    [record] = wait_for_records(1)
    assert (record.status, record.stream, record.estimated) == (499, True, True)
    assert record.completion_tokens == estimate_text_tokens("part0 ")
    assert record.prompt_tokens > 0
    assert record.error
