"""uvicorn's HTTP/1.1 protocol with the bounds it lacks: header and body timeouts, header size.

uvicorn (0.54) bounds only the idle time between requests (timeout_keep_alive). A client
that connects and sends nothing, drips its headers a byte at a time, or stops half-way
through a body holds a connection (and a slot under limit_concurrency) for as long as it
likes, and httptools puts no ceiling on the size of the headers. This subclass adds:

- a header deadline: from the connection (or the start of the next request) to the end of
  its headers; past it, 408 and the connection closes;
- a body idle timeout: the longest pause between two pieces of a request body (not counted
  while uvicorn itself has paused reading because the app is behind);
- a ceiling on the bytes of a request's line and headers: past it, 431;
- a response's head sent with its first body part, in one write (HeldHead).

A response may take as long as it needs (streams are long-lived); only the client's sending
is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The scope extension under which a request finds its DisconnectNotice.
DISCONNECT_EXTENSION = "tollgate.disconnect"
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\n"
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"


class DisconnectNotice:
    """Tells a request at once when its client's connection is lost.

    ASGI's way is to await `receive()` until it says "http.disconnect", which takes a task
    per request; the relay hands its callback here instead (a request still in flight when
    the connection goes: `lost` says so to one that registers late).
    """

    __slots__ = ("callback", "lost")

    def __init__(self) -> None:
        self.callback: Callable[[], None] | None = None
        self.lost = False

    def connection_lost(self) -> None:
        self.lost = True
        if self.callback is not None:
            self.callback()


class _WritesThrough(Protocol):
    transport: asyncio.Transport


class HeldHead:
    """What a response cycle writes through: its first write (the head) waits for the next.

    uvicorn writes a response's status line and headers with a write of their own, then each
    body part: a system call and a loopback segment more per response than a server that
    sends the head with the first body part, and on a stream's first event, a wait. The relay
    sends a head and its first body part back to back (a stream's first event is read before
    the head goes), so here both leave in one write. A head with nothing after it in the same
    turn of the loop goes out alone at the end of that turn. Once the head is out, the
    `owner` (the response cycle) is handed the transport itself: a stream's every later part
    would otherwise pass through one more Python call here (about 90 ns a part).
    """

    __slots__ = ("_head", "_loop", "_owner", "_transport")

    def __init__(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        owner: _WritesThrough | None = None,
    ) -> None:
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = loop
        self._head: bytes | None = None
        self._owner = owner

    def write(self, data: bytes) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head + data)
            self._head_is_out()
        elif self._loop is not None:
            self._head = data
            self._loop.call_soon(self.flush)
            self._loop = None  # only the first write waits
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head, self._head = self._head, None
        # The connection may be lost before the turn ends: a write to a closed transport
        # would raise in the loop's callback, with no one left to read the head anyway.
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)
        self._head_is_out()

    def _head_is_out(self) -> None:
        if self._owner is not None:
            self._owner.transport = self._transport
            self._owner = None

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_header_bytes: int = 64 * 1024
    # uvicorn's attributes and ours together would pass the count past which CPython gives
    # each instance a full dict: ours in slots keep it compact (about 1.5 KB a connection).
    __slots__ = (
        "_disconnect",
        "_due",
        "_header_bytes",
        "_header_tail",
        "_on_due",
        "_reading_body",
        "_reading_headers",
        "_timer",
        "_timer_at",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One lazy timer per connection (see _arm): `_on_due` runs at `_due` unless disarmed.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._due = 0.0
        self._on_due: Callable[[], None] | None = None
        self._reading_headers = True
        self._reading_body = False
        self._header_bytes = 0
        self._header_tail = b""
        self._disconnect: DisconnectNotice | None = None

    # The connection -------------------------------------------------------------------
    # uvicorn's HttpToolsProtocol narrows asyncio's BaseTransport to Transport (and ignores the
    # override error itself); this override keeps its signature.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        in_flight = self.cycle is not None and not self.cycle.response_complete
        super().connection_lost(exc)
        notice, self._disconnect = self._disconnect, None
        if notice is not None and in_flight:
            notice.connection_lost()

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            # Only the bytes up to the blank line that ends the headers count: a big body
            # often arrives in the same read as its headers. The end may be split across
            # two reads, so the last bytes of the previous one are searched too.
            seen = self._header_tail + data
            end = seen.find(b"\r\n\r\n")
            if end < 0:
                self._header_bytes += len(data)
                self._header_tail = seen[-3:]
            else:
                self._header_bytes += end + 4 - len(self._header_tail)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(_TOO_LARGE)
                return
        elif self._reading_body:
            self._arm(self.body_timeout, self._body_timed_out)
        super().data_received(data)

    # httptools' callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._disconnect = DisconnectNotice()
        # ASGI types extensions as dicts of dicts; this one is an object the relay calls into.
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[DISCONNECT_EXTENSION] = self._disconnect
        if not self._reading_headers:
            self._reading_headers = True
            self._header_bytes = 0
            self._header_tail = b""
            self._arm(self.header_timeout, self._headers_timed_out)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._header_bytes = 0
        self._header_tail = b""
        self._disarm()
        before = self.cycle
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # the connection now belongs to the WebSocket protocol
        if self.cycle is not None and self.cycle is not before:
            # The cycle writes only through write, close and is_closing, which HeldHead has.
            self.cycle.transport = HeldHead(  # type: ignore[assignment]
                self.transport, self.loop, self.cycle
            )
        self._reading_body = True
        self._arm(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()

    # Deadlines --------------------------------------------------------------------------
    # Setting a timer costs about 2.5 µs under uvloop, and a request went through three. A
    # deadline is now two attributes; the connection's one timer, when it fires, runs the
    # handler if its deadline has come, or sets itself again for when it will.
    def _arm(self, seconds: float, handler: Callable[[], None]) -> None:
        self._due = self.loop.time() + seconds
        self._on_due = handler
        if self._timer is None or self._timer_at > self._due:
            self._set_timer(self._due)

    def _disarm(self) -> None:
        self._on_due = None

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.loop.call_at(when, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        handler = self._on_due
        if handler is None:
            return
        if self.loop.time() < self._due:
            self._set_timer(self._due)
            return
        self._on_due = None
        handler()

    def _headers_timed_out(self) -> None:
        self._refuse(_TIMED_OUT)

    def _body_timed_out(self) -> None:
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
