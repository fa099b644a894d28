"""A small HTTP/1.1 client on a raw asyncio protocol: times streams and checks responses.

It keeps one connection alive across requests, as the OpenAI SDK does, and times from the
moment the request is written to the first body byte (the first SSE event) and to the end of
the response.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import cast

import httptools

REQUEST_TIMEOUT = 10.0


class BenchError(Exception):
    """A response the benchmark cannot count: shown to the user instead of a figure."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    first_body_ns: int  # from write to the first body byte
    total_ns: int  # from write to the end of the response
    body_reads: int  # how many socket reads carried body bytes (chunk coalescing)


@dataclass
class _Pending:
    started: int
    done: asyncio.Future[None]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: list[bytes] = field(default_factory=list)
    first_body: int = 0
    finished: int = 0
    body_reads: int = 0
    keep_alive: bool = True


class _ClientProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.pending: _Pending | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._read_had_body = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if self.pending is not None and not self.pending.done.done():
            self.pending.done.set_exception(BenchError("connection closed mid-response"))

    def data_received(self, data: bytes) -> None:
        self._read_had_body = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.pending is not None and not self.pending.done.done():
                self.pending.done.set_exception(BenchError(f"bad HTTP response: {exc}"))
        if self._read_had_body and self.pending is not None:
            self.pending.body_reads += 1

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.pending is not None:
            self.pending.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self.pending is not None:
            self.pending.status = self.parser.get_status_code()
            self.pending.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        pending = self.pending
        if pending is None:
            return
        if not pending.first_body:
            pending.first_body = time.perf_counter_ns()
        self._read_had_body = True
        pending.body.append(body)

    def on_message_complete(self) -> None:
        pending = self.pending
        if pending is not None and not pending.done.done():
            pending.finished = time.perf_counter_ns()
            pending.done.set_result(None)


class Client:
    """Sequential requests over one keep-alive connection, reconnecting when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.protocol: _ClientProtocol | None = None

    async def _connect(self) -> _ClientProtocol:
        if self.protocol is None or self.protocol.closed.done():
            loop = asyncio.get_running_loop()
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_ClientProtocol, self.host, self.port), REQUEST_TIMEOUT
            )
            self.protocol = protocol
        return self.protocol

    async def post(self, path: str, body: bytes, authorization: str) -> Response:
        protocol = await self._connect()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
            f"Accept: */*\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        pending = _Pending(started=time.perf_counter_ns(), done=loop.create_future())
        protocol.pending = pending
        assert protocol.transport is not None
        protocol.transport.write(head + body)
        try:
            await asyncio.wait_for(pending.done, REQUEST_TIMEOUT)
        except TimeoutError:
            self.close()
            raise BenchError(f"no complete response within {REQUEST_TIMEOUT:.0f} s") from None
        finally:
            protocol.pending = None
        if not pending.keep_alive:
            self.close()
        first = pending.first_body or pending.finished
        return Response(
            status=pending.status,
            headers=pending.headers,
            body=b"".join(pending.body),
            first_body_ns=first - pending.started,
            total_ns=pending.finished - pending.started,
            body_reads=pending.body_reads,
        )

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None


async def wait_until_answers(host: str, port: int, path: str) -> None:
    """Polls until an HTTP server answers anything at all; bound it with asyncio.timeout."""
    while True:
        client = Client(host, port)
        try:
            await client.post(path, b"{}", "Bearer probe")
            return
        except (OSError, BenchError):
            pass
        finally:
            client.close()
        await asyncio.sleep(0.1)
