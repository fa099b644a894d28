"""What the relay notes about one request for its usage record, and how the record ends.

A `Meter` is made once the token is accepted; forwarding notes each attempt, the channel
that answered and the usage it reported; `finish` settles the tokens (reported, else
estimated from the text relayed and the request body) and the timings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.relay.bodies import parse_json_payload
from gateway.relay.stream_usage import StreamTap
from usage.counting import estimate_prompt_tokens, estimate_text_tokens, stream_text
from usage.entries import UsageEntry
from usage.pricing import ONE, Price

# A client that hung up before the answer ended (nginx's code for it).
CLIENT_CLOSED = 499


@dataclass(slots=True)
class Meter:
    entry: UsageEntry
    started: float  # loop time
    payload: dict[str, Any] | None = None  # the request's JSON body, for a prompt estimate
    # The same body as bytes once the parsed one is let go (see keep_payload_as_bytes).
    payload_bytes: bytes = b""
    ask_stream_usage: bool = False  # the relay asks the upstream for usage the client did not
    usage: tuple[int, int, int] | None = None  # as the upstream reported it
    tap: StreamTap | None = None
    # A whole chat/completions answer that reported no usage: its text, for an estimate.
    answer_text: str | None = None
    first_byte: float | None = None
    answer_status: int | None = None  # the answering channel's HTTP status
    # The requested model's price (None: unpriced) and the token group's multiplier.
    price: Price | None = None
    multiplier: Decimal = ONE

    def attempt(
        self, channel_id: int, status: int | None, error: str | None, started: float, now: float
    ) -> None:
        self.entry.attempts.append(
            {
                "channel_id": channel_id,
                "status": status,
                "error": error,
                "latency_ms": _ms(now - started),
            }
        )

    def finish(self, status: int, error: str, now: float) -> UsageEntry:
        entry = self.entry
        entry.status = status
        entry.error = error
        entry.latency_ms = _ms(now - self.started)
        if self.first_byte is not None:
            entry.first_byte_ms = _ms(self.first_byte - self.started)
        tap = self.tap
        if tap is not None:
            entry.stream = True
            if tap.usage is not None:
                self.usage = tap.usage
        if self.usage is not None:
            entry.prompt_tokens, entry.completion_tokens, entry.total_tokens = self.usage
        elif tap is not None:
            completion = estimate_text_tokens(stream_text(tap.lines()))
            if tap.kept_bytes and tap.seen_bytes > tap.kept_bytes:
                completion = completion * tap.seen_bytes // tap.kept_bytes
            self._estimated(completion)
        elif self.answer_text is not None:
            self._estimated(estimate_text_tokens(self.answer_text))
        entry.unpriced = self.price is None
        # Billed: what an upstream answered (all of it, or the part relayed before the client
        # left or the stream broke off). Failed attempts and failed requests cost nothing.
        answered = self.answer_status is not None and 200 <= self.answer_status < 300
        if answered and self.price is not None:
            entry.cost = self.price.cost(
                entry.prompt_tokens, entry.completion_tokens, self.multiplier
            )
        return entry

    def keep_payload_as_bytes(self, body: bytes) -> None:
        """Keep the request body as the bytes `body` (already held for the upstream request)
        instead of its decoded form, which is parsed again only if the prompt is estimated.

        A stream stays open for minutes; holding both forms of a long prompt for all of it
        roughly doubled what an open stream costs (measured: 134 KB per open stream with a
        50 KB prompt, 36 KB with a short one).
        """
        if self.payload is not None:
            self.payload = None
            self.payload_bytes = body

    def _estimated(self, completion: int) -> None:
        entry = self.entry
        payload = self.payload
        if payload is None and self.payload_bytes:
            payload = parse_json_payload(self.payload_bytes)
        entry.prompt_tokens = estimate_prompt_tokens(payload)
        entry.completion_tokens = completion
        entry.total_tokens = entry.prompt_tokens + completion
        entry.estimated = True


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
