"""What an open stream holds of its request: the body once, as bytes, not decoded as well."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx

from gateway.relay.bodies import ParsedBody
from gateway.relay.metering import Meter
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, Recorded, running_upstream
from tests.support.live_gateway import Gateway

PROMPT = "a long prompt, " * 200


def held_now() -> tuple[list[ParsedBody], list[Meter]]:
    """The decoded bodies holding PROMPT, and the streams' meters, alive at this moment."""
    objects = gc.get_objects()
    decoded = [o for o in objects if isinstance(o, ParsedBody) and PROMPT in str(o.payload)]
    meters = [o for o in objects if isinstance(o, Meter) and o.entry.stream]
    return decoded, meters


def test_an_open_stream_lets_the_decoded_request_body_go(gateway: Gateway) -> None:
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        key = make_token().key
        with gateway.stream_chat(
            key, model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}], stream=True
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
            # The upstream holds the stream open: the relay is between two chunks now.
            decoded, meters = held_now()
            release.set()
            rest = list(lines)

    assert first.startswith("data: {")
    assert any("[DONE]" in line for line in rest)
    assert decoded == []
    [meter] = meters
    assert meter.payload is None
    assert PROMPT.encode() in meter.payload_bytes


def test_a_translated_stream_lets_the_decoded_request_body_go_too(gateway: Gateway) -> None:
    # Anthropic's Messages API through an OpenAI-compatible channel: translated both ways.
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        body = {
            "model": "gpt-4o-mini",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
        }
        headers = {"x-api-key": make_token().key}
        with httpx.stream(
            "POST", gateway.v1 + "/messages", headers=headers, json=body, timeout=30
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("event:"))
            decoded, meters = held_now()
            release.set()
            rest = list(lines)

    assert first == "event: message_start"
    assert "event: message_stop" in rest
    assert decoded == []
    [meter] = meters
    assert meter.payload is None
    assert PROMPT.encode() in meter.payload_bytes


def prompt_copies() -> int:
    """Distinct bytes objects holding PROMPT at this moment, in the client's request and the
    gateway (not in the fake upstream's records of what it received, which pile up)."""
    gc.collect()  # what earlier streams left in reference cycles
    needle = PROMPT.encode()
    return len(
        {
            id(held)
            for holder in gc.get_objects()
            if not isinstance(holder, Recorded)
            for held in gc.get_referents(holder)
            if type(held) is bytes and needle in held
        }
    )


def copies_while_open(
    upstream: FakeUpstream, open_stream: Callable[[], AbstractContextManager[httpx.Response]]
) -> int:
    """Opens a stream the upstream holds after its first event, counts the prompt's copies
    then, and lets the stream finish."""
    release = upstream.hold_stream = threading.Event()
    with open_stream() as response:
        lines = response.iter_lines()
        next(line for line in lines if line.startswith(("data:", "event:")))
        copies = prompt_copies()
        release.set()
        rest = list(lines)
    assert rest, "the stream did not go on once released"
    return copies


def _chat(gateway: Gateway, key: str, model: str) -> AbstractContextManager[httpx.Response]:
    return gateway.stream_chat(
        key, model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
    )


def test_a_stream_under_a_mapped_model_holds_the_prompt_no_more_often(gateway: Gateway) -> None:
    # The channel is asked for another name than the client's: the body sent upstream is a
    # copy of the client's with the model renamed.
    with running_upstream() as upstream:
        make_channel(upstream, models=["gpt-4o-mini", "fast"], model_mapping={"fast": "gpt-4o"})
        key = make_token().key
        plain = copies_while_open(upstream, lambda: _chat(gateway, key, "gpt-4o-mini"))
        mapped = copies_while_open(upstream, lambda: _chat(gateway, key, "fast"))

    assert [request.json()["model"] for request in upstream.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert mapped == plain


def test_a_translated_stream_holds_the_prompt_no_more_often(gateway: Gateway) -> None:
    with running_upstream() as upstream:
        make_channel(upstream)
        key = make_token().key

        def messages() -> Iterator[httpx.Response]:
            body = {
                "model": "gpt-4o-mini",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": PROMPT}],
                "stream": True,
            }
            headers = {"x-api-key": key}
            with httpx.stream(
                "POST", gateway.v1 + "/messages", headers=headers, json=body, timeout=30
            ) as response:
                yield response

        plain = copies_while_open(upstream, lambda: _chat(gateway, key, "gpt-4o-mini"))
        translated = copies_while_open(upstream, contextmanager(messages))

    assert [request.path for request in upstream.requests] == ["/v1/chat/completions"] * 2
    assert translated == plain
