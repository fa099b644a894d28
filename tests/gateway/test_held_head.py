"""A response's head leaves with its first body part, in one write, and never waits longer
than the turn of the event loop that wrote it."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from gateway.bounded_http import HeldHead, bounded_protocol
from tests.support.servers import serve_asgi


class Recording:
    """A transport that keeps what it was asked to write, one entry per write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _held() -> tuple[HeldHead, Recording]:
    transport = Recording()
    return HeldHead(transport, asyncio.get_running_loop()), transport  # type: ignore[arg-type]


def test_the_head_leaves_with_the_first_body_part() -> None:
    async def scenario() -> list[bytes]:
        held, transport = _held()
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")
        held.write(b"first")
        held.write(b"second")
        await asyncio.sleep(0)  # the turn ends: nothing was left waiting
        return transport.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\n\r\nfirst", b"second"]


class _Cycle:
    """What a response cycle is to HeldHead: something that writes through `transport`."""

    def __init__(self) -> None:
        self.transport: Any = None


def test_once_the_head_is_out_the_cycle_writes_straight_to_the_transport() -> None:
    async def scenario() -> tuple[list[Any], Recording]:
        transport, cycle = Recording(), _Cycle()
        cycle.transport = HeldHead(transport, asyncio.get_running_loop(), cycle)  # type: ignore[arg-type]
        writing_through = []
        for part in (b"HTTP/1.1 200 OK\r\n\r\n", b"first", b"second"):
            cycle.transport.write(part)
            writing_through.append(cycle.transport)
        await asyncio.sleep(0)
        return writing_through, transport

    writing_through, transport = asyncio.run(scenario())
    assert isinstance(writing_through[0], HeldHead)  # the head waits for the first part
    assert writing_through[1:] == [transport, transport]
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\nfirst", b"second"]


def test_a_head_that_left_alone_hands_the_transport_over_too() -> None:
    async def scenario() -> tuple[Any, Recording]:
        transport, cycle = Recording(), _Cycle()
        cycle.transport = HeldHead(transport, asyncio.get_running_loop(), cycle)  # type: ignore[arg-type]
        cycle.transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        await asyncio.sleep(0)  # the turn ends: the head leaves alone
        return cycle.transport, transport

    now_writing_through, transport = asyncio.run(scenario())
    assert now_writing_through is transport
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n"]


def test_a_head_alone_leaves_when_the_loop_turn_ends() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        held, transport = _held()
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")
        during = list(transport.writes)
        await asyncio.sleep(0)
        return during, transport.writes

    during, after = asyncio.run(scenario())
    assert during == []
    assert after == [b"HTTP/1.1 200 OK\r\n\r\n"]


def test_closing_sends_a_held_head_first() -> None:
    async def scenario() -> Recording:
        held, transport = _held()
        held.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
        held.close()
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(scenario())
    assert transport.writes == [b"HTTP/1.1 500 Internal Server Error\r\n\r\n"]
    assert transport.closed


def test_a_head_held_for_a_lost_connection_is_dropped() -> None:
    async def scenario() -> list[bytes]:
        held, transport = _held()
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.closed = True  # the peer went away within the same turn
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(scenario()) == []


class LateBody:
    """Sends the head, then the body only once the client says it has the head."""

    def __init__(self) -> None:
        self.head_seen = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await asyncio.to_thread(self.head_seen.wait, 10)
        await send({"type": "http.response.body", "body": b"late"})


def test_a_head_whose_body_waits_goes_out_alone() -> None:
    app = LateBody()
    protocol = bounded_protocol(header_timeout=10, body_timeout=10, max_header_bytes=4096)
    with serve_asgi(app, http=protocol) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: gateway\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(65536)
                assert chunk, "the connection closed before the head came"
                head += chunk
            app.head_seen.set()
            rest = head.partition(b"\r\n\r\n")[2]
            while len(rest) < 4:
                rest += sock.recv(65536)

    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b"late"
