"""What both stream translators share: events read as they arrive, the usage and the text
relayed (kept for an estimate, up to a bound), and nothing more after the stream is done."""

from __future__ import annotations

from gateway.relay.translate.sse_events import SSEEvents

# Text kept for an estimate at most: the answer's text alone, about a tenth of the events'
# bytes, so this is some 500,000 tokens, past any answer's length (the pass-through tap
# keeps raw events, 64 KiB of them, and scales).
MAX_KEPT_TEXT = 2 * 1024 * 1024


class StreamTranslation:
    def __init__(self) -> None:
        self._events = SSEEvents()
        self._done = False
        self._usage: tuple[int, int, int] | None = None
        self._text: list[str] = []
        self._kept = 0

    @property
    def usage(self) -> tuple[int, int, int] | None:
        """(prompt, completion, total) as the upstream reported them; None until it did."""
        return self._usage

    @property
    def text(self) -> str:
        """The text and tool arguments relayed so far (for an estimate without usage)."""
        return "".join(self._text)

    def feed(self, data: bytes) -> bytes:
        """Raw upstream bytes in (split anywhere), the client's events out."""
        if self._done:
            return b""
        out: list[bytes] = []
        for event, payload in self._events.feed(data):
            self._event(event, payload, out)
            if self._done:
                break
        return b"".join(out)

    def _event(self, event: str, payload: bytes, out: list[bytes]) -> None:
        raise NotImplementedError

    def _keep(self, text: str) -> None:
        if self._kept < MAX_KEPT_TEXT:
            self._text.append(text)
            self._kept += len(text)
