"""Helpers for the stream translation tests: feed a stream whole and byte by byte, read
what came out, and check that Anthropic events come in a valid order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import orjson

from gateway.relay.translate.sse_events import SSEEvents, sse


class Translator(Protocol):
    def feed(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


def chat_sse(*chunks: dict[str, Any] | str) -> bytes:
    """An OpenAI chat stream: `data:` events, "[DONE]" given as a string."""
    return b"".join(
        sse(None, chunk.encode() if isinstance(chunk, str) else orjson.dumps(chunk))
        for chunk in chunks
    )


def anthropic_sse(*events: dict[str, Any]) -> bytes:
    return b"".join(sse(event["type"], orjson.dumps(event)) for event in events)


def run(make: Callable[[], Translator], stream: bytes) -> bytes:
    """The output for `stream` fed whole, checked equal to the output fed byte by byte."""
    whole = make()
    out_whole = whole.feed(stream) + whole.finish()
    split = make()
    out_split = b"".join(split.feed(stream[at : at + 1]) for at in range(len(stream)))
    out_split += split.finish()
    assert out_split == out_whole
    return out_whole


def events(out: bytes) -> list[tuple[str, Any]]:
    """(event name, parsed data) of each event out; data "[DONE]" stays a string."""
    parsed = SSEEvents().feed(out)
    return [
        (name, data.decode() if data == b"[DONE]" else orjson.loads(data)) for name, data in parsed
    ]


def check_anthropic_order(out: list[tuple[str, Any]]) -> None:
    """message_start first, blocks opened in increasing index and each closed before the
    next opens, message_delta then message_stop last; event names match data types."""
    names = [name for name, _ in out]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    open_index: int | None = None
    last_index = -1
    for name, data in out:
        assert data["type"] == name
        if name == "content_block_start":
            assert open_index is None
            assert data["index"] == last_index + 1
            open_index = last_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop"):
            assert open_index is None
