"""Run an ASGI app under uvicorn on a free loopback port, in a thread, for a test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn


@contextmanager
def serve_asgi(app: Any, **options: Any) -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:PORT`); stops the server on exit.

    The socket is bound and listening before the thread starts, so clients may connect at
    once: the kernel queues them until uvicorn accepts. Nothing waits on a timer.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    options.setdefault("lifespan", "off")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def closed_url() -> str:
    """A loopback base URL (`http://127.0.0.1:PORT`) where nothing listens any more: a
    connection there is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    base_url: str,
    target: bytes,
    *,
    method: bytes = b"POST",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """Send the request target exactly as given: HTTP clients would normalise a hostile path."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    lines = [method + b" " + target + b" HTTP/1.1", f"Host: {parts.netloc}".encode()]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}".encode())
    lines += [f"Content-Length: {len(body)}".encode(), b"Connection: close", b"", b""]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, content = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding") == "chunked":
        content = _unchunk(content)
    return RawResponse(int(status_line.split()[1]), found, content)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out
