"""The bounded HTTP protocol under a real uvicorn server: slow clients are cut off, slow
responses (streams) are not."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.bounded_http import bounded_protocol
from tests.support.servers import serve_asgi

TIMEOUT = 0.5


class Echo:
    """Reads the whole body and answers with its length; records a client that went away."""

    def __init__(self) -> None:
        self.disconnected = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["path"] == "/slow-stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"one ", "more_body": True})
            # Longer than every client timeout: a slow answer is the server's business.
            await asyncio.sleep(TIMEOUT * 2)
            await send({"type": "http.response.body", "body": b"two"})
            return
        body = str(size).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def server(echo: Echo) -> Iterator[tuple[str, int]]:
    protocol = bounded_protocol(header_timeout=TIMEOUT, body_timeout=TIMEOUT, max_header_bytes=4096)
    with serve_asgi(echo, http=protocol) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (bounded by the socket's 10 s timeout)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_client_that_sends_nothing_is_closed_with_408(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_headers_that_never_finish_are_closed_with_408(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_the_header_deadline_restarts_for_each_request_on_a_connection(
    server: tuple[str, int],
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gateway\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_oversized_headers_are_refused_with_431(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n")
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 431 ")


def test_a_body_that_stalls_is_cut_off(server: tuple[str, int], echo: Echo) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: gateway\r\nContent-Length: 10\r\n\r\n123")
        assert _read_until_closed(sock) == b""
    assert echo.disconnected.wait(10)


def test_a_body_sent_in_pieces_within_the_timeout_is_read_whole(
    server: tuple[str, int],
) -> None:
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as client:
        response = client.post("/", content=iter([b"a" * 1000, b"b" * 1000, b"c" * 1000]))
    assert response.status_code == 200
    assert response.text == "3000"


def test_a_slow_streamed_answer_is_not_cut_off(server: tuple[str, int]) -> None:
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as client:
        response = client.get("/slow-stream")
    assert response.status_code == 200
    assert response.text == "one two"


def test_ordinary_requests_on_a_kept_alive_connection_work(server: tuple[str, int]) -> None:
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as client:
        answers = [client.post("/", content=b"x" * size).text for size in (1, 10, 100)]
    assert answers == ["1", "10", "100"]


def test_a_big_body_sent_with_its_headers_is_not_taken_for_big_headers(
    server: tuple[str, int],
) -> None:
    # One write: the first read holds the headers and far more body than the header limit.
    body = b"x" * 200_000
    head = f"POST / HTTP/1.1\r\nHost: gateway\r\nContent-Length: {len(body)}\r\n"
    with _connect(server) as sock:
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"200000")


def test_the_end_of_the_headers_is_found_when_split_across_reads(
    server: tuple[str, int],
) -> None:
    body = b"x" * 200_000
    head = f"POST / HTTP/1.1\r\nHost: gateway\r\nContent-Length: {len(body)}\r\n"
    with _connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head.encode() + b"Connection: close\r\n\r")
        sock.sendall(b"\n" + body)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"200000")
