"""What an open stream holds of its request: the body once, as bytes, not decoded as well."""

from __future__ import annotations

import gc
import threading

from gateway.relay.bodies import ParsedBody
from gateway.relay.metering import Meter
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import running_upstream
from tests.support.live_gateway import Gateway


def test_an_open_stream_lets_the_decoded_request_body_go(gateway: Gateway) -> None:
    prompt = "a long prompt, " * 200
    release = threading.Event()
    with running_upstream(hold_stream=release) as held:
        make_channel(held)
        key = make_token().key
        with gateway.stream_chat(
            key, model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
            # The upstream holds the stream open: the relay is between two chunks now.
            objects = gc.get_objects()
            decoded = [o for o in objects if isinstance(o, ParsedBody) and prompt in str(o.payload)]
            meters = [o for o in objects if isinstance(o, Meter) and o.entry.stream]
            release.set()
            rest = list(lines)

    assert first.startswith("data: {")
    assert any("[DONE]" in line for line in rest)
    assert decoded == []
    [meter] = meters
    assert meter.payload is None
    assert prompt.encode() in meter.payload_bytes
