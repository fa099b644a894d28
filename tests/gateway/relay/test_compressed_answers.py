"""An upstream that compresses its answer although the relay asked for none: the client still
gets the answer, decoded (the relay reads uncompressed answers straight from the transport)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.factories import make_channel, make_token
from tests.support.live_gateway import Gateway
from tests.support.upstream_parts import (
    ServedUpstream,
    chat_chunk,
    chat_completion,
    read_body,
    running,
    send_whole,
    sse_event,
)


@dataclass
class GzipUpstream(ServedUpstream):
    name: str = "gzip"
    api_key: str = "sk-gzip-upstream-key-0123456789abcdef"
    models: list[str] = field(default_factory=lambda: ["gpt-4o-mini"])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        payload = json.loads(await read_body(receive))
        if payload.get("stream"):
            events = [
                sse_event(chat_chunk(payload["model"], {"content": "Hello"}, None)),
                sse_event(chat_chunk(payload["model"], {"content": " there"}, "stop")),
                b"data: [DONE]\n\n",
            ]
            body = gzip.compress(b"".join(events))
            content_type = b"text/event-stream"
        else:
            body = gzip.compress(
                json.dumps(chat_completion("chatcmpl-gz", payload["model"], "Hello there")).encode()
            )
            content_type = b"application/json"
        headers = [(b"content-type", content_type), (b"content-encoding", b"gzip")]
        await send_whole(send, 200, body, headers)


@pytest.fixture
def gzip_upstream() -> Iterator[GzipUpstream]:
    with running(GzipUpstream()) as upstream:
        yield upstream


def test_a_compressed_answer_reaches_the_client_decoded(
    gateway: Gateway, gzip_upstream: GzipUpstream
) -> None:
    make_channel(gzip_upstream)  # type: ignore[arg-type]
    key = make_token().key

    response = gateway.post_chat(key)

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.json()["choices"][0]["message"]["content"] == "Hello there"


def test_a_compressed_stream_reaches_the_client_decoded(
    gateway: Gateway, gzip_upstream: GzipUpstream
) -> None:
    make_channel(gzip_upstream)  # type: ignore[arg-type]
    key = make_token().key

    with gateway.stream_chat(key) as response:
        text = response.read().decode()

    assert response.status_code == 200
    assert "Hello" in text and " there" in text
    assert text.rstrip().endswith("data: [DONE]")
