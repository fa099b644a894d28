"""The stream's idle limit: each read may take `idle` seconds; sending to the client is not
counted, and a stream that keeps arriving may outlast `idle` many times over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.relay.routing import Route
from gateway.relay.stream_relay import Watch, _pass_on

ROUTE = Route(
    channel_id=1, name="c", base_url="http://127.0.0.1:9/v1", api_key="k", weight=1, priority=0
)


async def _paced(count: int, gap: float) -> AsyncIterator[bytes]:
    for index in range(count):
        await asyncio.sleep(gap)  # the upstream's pause between chunks
        yield b"chunk%d" % index


async def _stalled() -> AsyncIterator[bytes]:
    yield b"first"
    await asyncio.Event().wait()  # never another chunk
    yield b"never"


def _watch(idle: float, total: float = 60.0) -> Watch:
    return Watch(ROUTE, "req", idle, asyncio.get_running_loop().time() + total)


def test_a_stream_that_keeps_arriving_outlasts_its_idle_limit() -> None:
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["body"])

    async def relay() -> None:
        # 12 chunks 0.05 s apart: 0.6 s in all, three times the 0.2 s idle limit.
        await _pass_on(_paced(12, 0.05), None, send, _watch(idle=0.2))

    asyncio.run(relay())

    assert sent == [b"chunk%d" % index for index in range(12)]


def test_a_slow_client_is_not_a_silent_upstream() -> None:
    sent: list[bytes] = []

    async def slow_send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0.3)  # the client reads slowly: longer than the idle limit
        sent.append(message["body"])

    async def relay() -> None:
        await _pass_on(_paced(3, 0.0), None, slow_send, _watch(idle=0.1))

    asyncio.run(relay())

    assert sent == [b"chunk0", b"chunk1", b"chunk2"]


def test_a_silent_upstream_times_out() -> None:
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["body"])

    async def relay() -> None:
        await _pass_on(_stalled(), None, send, _watch(idle=0.1))

    with pytest.raises(TimeoutError):
        asyncio.run(relay())
    assert sent == [b"first"]


def test_the_deadline_ends_a_stream_that_trickles() -> None:
    async def send(message: dict[str, Any]) -> None:
        pass

    async def relay() -> None:
        # Every chunk comes well within the idle limit, but the request's total runs out.
        await _pass_on(_paced(1000, 0.02), None, send, _watch(idle=5.0, total=0.2))

    with pytest.raises(TimeoutError):
        asyncio.run(relay())


def test_cancelling_the_stream_from_outside_stays_a_cancellation() -> None:
    async def send(message: dict[str, Any]) -> None:
        pass

    async def relay() -> None:
        task = asyncio.ensure_future(_pass_on(_stalled(), None, send, _watch(idle=30.0)))
        await asyncio.sleep(0)
        task.cancel()  # the client left, or the server shuts down
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(relay())
