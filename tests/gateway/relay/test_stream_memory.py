"""What an open stream holds of its request: the body once, as bytes, not decoded as well."""

from __future__ import annotations

import gc
import threading

import httpx

from gateway.relay.bodies import ParsedBody
from gateway.relay.metering import Meter
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import running_upstream
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
