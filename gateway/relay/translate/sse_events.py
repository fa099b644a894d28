"""Server-sent events, read incrementally and written, for the translating relays.

`SSEEvents().feed(data)` returns the events completed by `data`, as `(event, data)` pairs:
`event` is the `event:` field ("" when the event named none) and `data` the event's `data:`
lines joined by b"\n". Bytes may be cut anywhere (inside a line, between CR and LF); lines
end with LF, CRLF or CR; comment lines (starting with ":") and the `id`/`retry` fields are
ignored; an event with no `data:` line is not reported (as the SSE standard has it).

`sse(event, data)` writes one event: `event: <event>` (left out when `event` is None), one
`data:` line per line of `data`, and the blank line that ends it.
"""

from __future__ import annotations

_NL = b"\n"
_CR = b"\r"


class SSEEvents:
    """An incremental SSE parser: feed it bytes as they arrive, get the completed events."""

    def __init__(self) -> None:
        self._partial = b""
        self._after_cr = False
        self._event = b""
        self._data: list[bytes] = []

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        if not data:
            return []
        if self._after_cr:
            # The last feed ended with a CR, taken as a line end: an LF now is its other half.
            self._after_cr = False
            if data[:1] == _NL:
                data = data[1:]
        buffer = self._partial + data if self._partial else data
        if _CR in buffer:
            self._after_cr = buffer.endswith(_CR)
            buffer = buffer.replace(b"\r\n", _NL).replace(_CR, _NL)
        cut = buffer.rfind(_NL) + 1
        self._partial = buffer[cut:]
        if not cut:
            return []
        events: list[tuple[str, bytes]] = []
        for line in buffer[: cut - 1].split(_NL):
            self._line(line, events)
        return events

    def _line(self, line: bytes, events: list[tuple[str, bytes]]) -> None:
        if not line:
            if self._data:
                events.append((self._event.decode("utf-8", "replace"), _NL.join(self._data)))
            self._event = b""
            self._data = []
            return
        if line[0] == 0x3A:  # ":" starts a comment (keep-alives)
            return
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value


def sse(event: str | None, data: bytes) -> bytes:
    """One SSE event, ready to send."""
    head = b"" if event is None else b"event: " + event.encode() + _NL
    if _NL in data or _CR in data:
        lines = data.replace(b"\r\n", _NL).replace(_CR, _NL).split(_NL)
        return head + b"".join(b"data: " + line + _NL for line in lines) + _NL
    return head + b"data: " + data + b"\n\n"
