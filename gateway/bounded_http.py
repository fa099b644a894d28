"""uvicorn's HTTP/1.1 protocol with the bounds it lacks: header and body timeouts, header size.

uvicorn (0.54) bounds only the idle time between requests (timeout_keep_alive). A client
that connects and sends nothing, drips its headers a byte at a time, or stops half-way
through a body holds a connection (and a slot under limit_concurrency) for as long as it
likes, and httptools puts no ceiling on the size of the headers. This subclass adds:

- a header deadline: from the connection (or the start of the next request) to the end of
  its headers; past it, 408 and the connection closes;
- a body idle timeout: the longest pause between two pieces of a request body (not counted
  while uvicorn itself has paused reading because the app is behind);
- a ceiling on the bytes of a request's line and headers: past it, 431.

A response may take as long as it needs (streams are long-lived); only the client's sending
is bounded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\n"
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_header_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_headers = True
        self._reading_body = False
        self._header_bytes = 0

    # The connection -------------------------------------------------------------------
    # uvicorn's HttpToolsProtocol narrows asyncio's BaseTransport to Transport (and ignores the
    # override error itself); this override keeps its signature.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(_TOO_LARGE)
                return
        elif self._reading_body:
            self._arm(self.body_timeout, self._body_timed_out)
        super().data_received(data)

    # httptools' callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_headers:
            self._reading_headers = True
            self._header_bytes = 0
            self._arm(self.header_timeout, self._headers_timed_out)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._header_bytes = 0
        self._disarm()
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # the connection now belongs to the WebSocket protocol
        self._reading_body = True
        self._arm(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()

    # Deadlines --------------------------------------------------------------------------
    def _arm(self, seconds: float, handler: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_timed_out(self) -> None:
        self._deadline = None
        self._refuse(_TIMED_OUT)

    def _body_timed_out(self) -> None:
        self._deadline = None
        if self.flow is not None and self.flow.read_paused:
            # We stopped reading, not the client: wait for the app to catch up.
            self._arm(self.body_timeout, self._body_timed_out)
            return
        self._refuse(_TIMED_OUT)

    def _refuse(self, status_line: bytes) -> None:
        self._disarm()
        self._reading_headers = self._reading_body = False
        if self.transport is None or self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            # Only when no response is under way: a status line mid-response would corrupt it.
            self.transport.write(status_line + b"content-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.close()


def bounded_protocol(
    *, header_timeout: float, body_timeout: float, max_header_bytes: int
) -> type[BoundedHttpToolsProtocol]:
    """A protocol class with these bounds, for uvicorn's Config(http=...)."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_bytes": max_header_bytes,
        },
    )
