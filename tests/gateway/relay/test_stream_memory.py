"""What an open stream holds of its request: the body once, as bytes, not decoded as well."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

import httpx

from gateway.relay.bodies import ParsedBody
from gateway.relay.metering import Meter
from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, Recorded, running_upstream
from tests.support.live_gateway import Gateway

PROMPT = "a long prompt, " * 200
Seen = TypeVar("Seen")
Opener = Callable[[], AbstractContextManager[httpx.Response]]


def held_now() -> tuple[list[ParsedBody], list[Meter]]:
    """The decoded bodies holding PROMPT, and the streams' meters, alive at this moment."""
    objects = gc.get_objects()
    decoded = [o for o in objects if isinstance(o, ParsedBody) and PROMPT in str(o.payload)]
    meters = [o for o in objects if isinstance(o, Meter) and o.entry.stream]
    return decoded, meters


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


def while_held(
    upstream: FakeUpstream, open_stream: Opener, look: Callable[[], Seen]
) -> tuple[str, Seen, list[str]]:
    """Opens a stream the upstream holds after its first event (the relay is between two
    chunks then), looks, and lets it finish: its first event's line, what `look` saw, and
    the lines after."""
    release = upstream.hold_stream = threading.Event()
    with open_stream() as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith(("data:", "event:")))
        seen = look()
        release.set()
        rest = list(lines)
    return first, seen, rest


def chat(gateway: Gateway, key: str, model: str = "gpt-4o-mini") -> Opener:
    return lambda: gateway.stream_chat(
        key, model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
    )


def messages(gateway: Gateway, key: str) -> Opener:
    """Anthropic's Messages API through an OpenAI-compatible channel: translated both ways."""

    @contextmanager
    def opened() -> Iterator[httpx.Response]:
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

    return opened


def test_an_open_stream_lets_the_decoded_request_body_go(gateway: Gateway) -> None:
    with running_upstream() as upstream:
        make_channel(upstream)
        key = make_token().key
        first, (decoded, meters), rest = while_held(upstream, chat(gateway, key), held_now)

    assert first.startswith("data: {")
    assert any("[DONE]" in line for line in rest)
    assert decoded == []
    [meter] = meters
    assert meter.payload is None
    assert PROMPT.encode() in meter.payload_bytes


def test_a_translated_stream_lets_the_decoded_request_body_go_too(gateway: Gateway) -> None:
    with running_upstream() as upstream:
        make_channel(upstream)
        key = make_token().key
        first, (decoded, meters), rest = while_held(upstream, messages(gateway, key), held_now)

    assert first == "event: message_start"
    assert "event: message_stop" in rest
    assert decoded == []
    [meter] = meters
    assert meter.payload is None
    assert PROMPT.encode() in meter.payload_bytes


def test_a_stream_under_a_mapped_model_holds_the_prompt_no_more_often(gateway: Gateway) -> None:
    # The channel is asked for another name than the client's: the body sent upstream is a
    # copy of the client's with the model renamed.
    with running_upstream() as upstream:
        make_channel(upstream, models=["gpt-4o-mini", "fast"], model_mapping={"fast": "gpt-4o"})
        key = make_token().key
        _, plain, plain_rest = while_held(upstream, chat(gateway, key), prompt_copies)
        _, mapped, mapped_rest = while_held(upstream, chat(gateway, key, "fast"), prompt_copies)

    assert [request.json()["model"] for request in upstream.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert all(any("[DONE]" in line for line in rest) for rest in (plain_rest, mapped_rest))
    assert mapped == plain


def test_a_translated_stream_holds_the_prompt_no_more_often(gateway: Gateway) -> None:
    with running_upstream() as upstream:
        make_channel(upstream)
        key = make_token().key
        _, plain, _ = while_held(upstream, chat(gateway, key), prompt_copies)
        _, translated, rest = while_held(upstream, messages(gateway, key), prompt_copies)

    assert [request.path for request in upstream.requests] == ["/v1/chat/completions"] * 2
    assert "event: message_stop" in rest
    assert translated == plain
