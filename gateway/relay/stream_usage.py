"""Usage of streamed answers: asked of the upstream, read from its last chunk, hidden if unasked.

A chat or completions stream reports usage only when the request says
`stream_options: {"include_usage": true}`. When the client did not ask, the relay asks for
it (ask_for_usage) and the tap drops that extra chunk (or just its `usage` key, when the
chunk also carries a choice) before the client sees it; a client that asked gets it as
usual. The tap also keeps what was relayed, so a stream that never reported its usage (or
whose client left) can be estimated from the text it carried.
"""

from __future__ import annotations

import re

import orjson

from gateway.relay.bodies import ParsedBody, reencoded
from usage.counting import read_usage

# The endpoints that take `stream_options` (OpenAI's chat and legacy completions).
STREAM_USAGE_PATHS = frozenset({"/chat/completions", "/completions"})
_INCLUDE_USAGE = b'"stream_options":{"include_usage":true},'
# A usage *object* (with include_usage, every other chunk says `"usage":null`).
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
USAGE_KEY = b'"usage"'
# Relayed bytes kept for an estimate at most; a longer stream is estimated from this much,
# scaled by all it relayed. Kept for a stream's whole life, and thousands stay open at once:
# an OpenAI chunk is about 200 bytes for a token or two, so a 2 MiB bound let a long answer
# hold megabytes per open stream. 64 KiB is some 300 chunks, plenty to scale from.
MAX_KEPT_BYTES = 64 * 1024


def asks_for_usage(parsed: ParsedBody) -> bool:
    payload = parsed.payload
    if payload is None:
        return False
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def ask_for_usage(body: bytes, parsed: ParsedBody) -> bytes:
    """The streaming request `body` with `stream_options.include_usage` set, else as it was.

    With no `stream_options` in the body the member is spliced in after the opening brace,
    so every other byte goes upstream as the client sent it.
    """
    assert parsed.payload is not None
    if "stream_options" not in parsed.payload:
        at = body.find(b"{")
        return body[: at + 1] + _INCLUDE_USAGE + body[at + 1 :]

    def include_usage(payload: dict[str, object]) -> None:
        options = payload.get("stream_options")
        payload["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }

    return reencoded(body, include_usage)


class StreamTap:
    """Watches the SSE lines on their way out: the usage they report, the text they carry."""

    def __init__(self, *, hide_usage: bool) -> None:
        self.hide_usage = hide_usage
        self.usage: tuple[int, int, int] | None = None
        self.kept: list[bytes] = []
        self.kept_bytes = 0
        self.seen_bytes = 0

    def take(self, data: bytes) -> bytes:
        """`data` (whole lines) with the extra usage chunk taken out, its usage noted."""
        # One search: with usage asked for, every chunk says `"usage":null`, and comparing
        # counts of that first took as long again as the search (a read of a whole answer:
        # 2.8 µs).
        found = _USAGE_OBJECT.search(data)
        if found is None:
            return data
        # Only the lines from the first usage object on are looked at one by one: the lines
        # before it hold none, so they go out as they came. A read of a whole answer (an
        # upstream that does not pause) holds every event before the usage chunk, and going
        # through them all took about 20 µs before the first byte went out. The cut is after
        # a line feed, always a line's end (lines ended by a lone CR are all looked at).
        cut = data.rfind(b"\n", 0, found.start()) + 1
        return data[:cut] + self._take_lines(data[cut:])

    def _take_lines(self, data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        out: list[bytes] = []
        skip_blank = False
        for line in lines:
            if skip_blank and not line.strip():
                skip_blank = False
                continue
            skip_blank = False
            if line.startswith(b"data:") and _USAGE_OBJECT.search(line):
                line = self._read(line)
                if not line:
                    skip_blank = True
                    continue
            out.append(line)
        return b"".join(out)

    def _read(self, line: bytes) -> bytes:
        try:
            event = orjson.loads(line[5:])
        except orjson.JSONDecodeError:
            return line
        if not isinstance(event, dict):
            return line
        usage = read_usage(event.get("usage"))
        if usage is None and isinstance(event.get("response"), dict):
            # The Responses API: its `response.completed` event carries the usage.
            usage = read_usage(event["response"].get("usage"))
            if usage is not None:
                self.usage = usage
            return line
        if usage is None:
            return line
        self.usage = usage
        if not self.hide_usage:
            return line
        if not event.get("choices"):
            return b""  # the extra chunk the client did not ask for
        del event["usage"]
        ending = line[len(line.rstrip(b"\r\n")) :]
        return b"data: " + orjson.dumps(event) + ending

    def relayed(self, data: bytes) -> None:
        """Keep what went to the client, for an estimate if no usage ever comes."""
        self.seen_bytes += len(data)
        if self.usage is None and self.kept_bytes < MAX_KEPT_BYTES:
            self.kept.append(data)
            self.kept_bytes += len(data)

    def lines(self) -> list[bytes]:
        return b"".join(self.kept).splitlines()
