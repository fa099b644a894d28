"""The bare relays the instruction counts run (bench/bare_relay.py) relay what the floor does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.client import Client
from bench.load import CHAT_PATH, chat_body
from bench.procs import HOST, MODEL, UPSTREAM_KEY, start_bare_relay, start_upstream
from bench.upstream import STREAM_CHUNKS

pytestmark = pytest.mark.served


async def _both(port: int) -> tuple[int, bytes, int, bytes]:
    client = Client(HOST, port)
    try:
        whole = await client.post(CHAT_PATH, chat_body(MODEL, stream=False), "")
        stream = await client.post(CHAT_PATH, chat_body(MODEL, stream=True), "")
    finally:
        client.close()
    return whole.status, whole.body, stream.status, stream.body


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
def test_it_relays_an_answer_and_a_stream(kind: str, tmp_path: Path) -> None:
    upstream, upstream_port = start_upstream(tmp_path, 0)
    try:
        relay, port = start_bare_relay(tmp_path, upstream_port, kind)
        try:
            status, body, stream_status, stream_body = asyncio.run(_both(port))
        finally:
            relay.stop()
    finally:
        upstream.stop()

    # The relay sends the upstream's key itself: the client sent none.
    assert (status, stream_status) == (200, 200)
    assert body.startswith(b"{") and b'"usage"' in body
    assert stream_body.count(b"data: ") == STREAM_CHUNKS + 1
    assert stream_body.endswith(b"data: [DONE]\n\n")
    assert UPSTREAM_KEY.encode() not in body + stream_body
