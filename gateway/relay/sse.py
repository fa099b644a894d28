"""Server-sent events on their way back to the client: secrets scrubbed, the model renamed."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from core.errors import scrub_bytes
from gateway.relay.model_rename import rename_model
from gateway.relay.stream_usage import USAGE_KEY, StreamTap

# A line longer than this goes out unfinished rather than grow the buffer without end.
MAX_HELD_LINE = 4 * 1024 * 1024


class SSERewriter:
    """Rewrites an SSE stream line by line as the bytes pass through.

    It renames `model` in `data:` events when a mapping renamed it, and scrubs secrets: the
    channel key from every line, and the channel's address too from error events (an
    `event: error`, or data holding an `"error"` key), where an upstream may echo it.
    Complete lines go out as soon as they arrive; only a line cut across two network reads
    waits for its end, so a secret split between reads is still found whole. A chunk with
    no renaming to do and no "error" in it costs two substring searches. A `tap`
    (stream_usage.py) sees the lines first, to read (and maybe hide) the usage chunk, and
    what goes out after.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        key: bytes = b"",
        secrets: Sequence[bytes] = (),
        tap: StreamTap | None = None,
    ) -> None:
        self.model = model
        self.tap = tap
        self._key = key
        self._keys = [key] if key else []
        self._secrets = list(secrets)
        self._partial = b""
        self._in_error_event = False

    def feed(self, chunk: bytes) -> bytes:
        # Whole lines, as an upstream usually sends them. A slice's compare, not endswith,
        # which parses its arguments the slow way: about 110 ns more on every chunk.
        if not self._partial and chunk[-1:] == b"\n":
            return self._lines(chunk)
        data = self._partial + chunk if self._partial else chunk
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        if len(self._partial) > MAX_HELD_LINE:
            held, self._partial = self._partial, b""
            return self._lines(data[:cut]) + scrub_bytes(held, self._secrets + self._keys)
        if not cut:
            return b""
        return self._lines(data[:cut])

    def flush(self) -> bytes:
        rest, self._partial = self._partial, b""
        return self._lines(rest) if rest else b""

    def _lines(self, data: bytes) -> bytes:
        tap = self.tap
        if tap is not None and data.find(USAGE_KEY) >= 0:
            data = tap.take(data)
        # find, not `in`: see scrub_bytes.
        if self.model is None and not self._in_error_event and data.find(b"error") < 0:
            key = self._key
            out = data if not key or data.find(key) < 0 else scrub_bytes(data, self._keys)
        else:
            out = b"".join(self._line(line) for line in data.splitlines(keepends=True))
        if tap is not None:
            tap.relayed(out)
        return out

    def _line(self, line: bytes) -> bytes:
        if not line.strip():
            self._in_error_event = False  # a blank line ends the event
            return line
        if line.startswith(b"event:"):
            self._in_error_event = b"error" in line or b"fail" in line
        elif line.startswith(b"data:") and b'"error"' in line:
            self._in_error_event = True
        line = scrub_bytes(line, self._secrets + self._keys if self._in_error_event else self._keys)
        return self._rename(line) if self.model is not None else line

    def _rename(self, line: bytes) -> bytes:
        if not line.startswith(b"data:") or line.find(b'"model"') < 0:
            return line
        assert self.model is not None
        body = line[5:].strip()
        ending = line[len(line.rstrip(b"\r\n")) :]
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return line
        if not rename_model(payload, self.model):
            return line
        return b"data: " + orjson.dumps(payload) + ending
