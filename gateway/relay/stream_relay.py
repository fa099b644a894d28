"""How an upstream's answer is relayed while it is still arriving.

Server-sent events go out event line by event line through the SSE rewriter (sse.py);
other bodies of unknown length (speech audio, say) go out chunk by chunk as they come.
Headers are gone by then: a break can no longer fail over to another channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from core.errors import error_body, scrub, secrets_of
from core.http_clients import UPSTREAM_ERRORS
from gateway import metrics
from gateway.relay.deadline import ReadDeadline
from gateway.relay.responses import Send
from gateway.relay.routing import Route

log = logging.getLogger(__name__)

STREAM_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def log_broken_answer(route: Route, exc: Exception, request_id: str) -> None:
    reason = scrub(str(exc) or type(exc).__name__, secrets_of(route.api_key, route.base_url))
    log.warning("channel %s broke off its answer: %s (request %s)", route.name, reason, request_id)


class StreamRewriter(Protocol):
    """What a stream's bytes pass through on their way out (sse.py's SSERewriter, say)."""

    def feed(self, chunk: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


# An error event for a client that speaks OpenAI's API: (message, code) -> SSE bytes.
ErrorEvent = Callable[[str, str], bytes]


def openai_error_event(message: str, code: str) -> bytes:
    return b"data: " + error_body(502, message, code=code) + b"\n\n"


@dataclass(frozen=True, slots=True)
class Watch:
    """Whose answer is relayed, and how long it may keep the client waiting.

    `idle`: seconds a chunk may take at most; `deadline`: the request's end, in loop time.
    """

    route: Route
    request_id: str
    idle: float
    deadline: float


async def relay_stream(
    status: int,
    headers: list[tuple[bytes, bytes]],
    first: bytes,
    chunks: AsyncIterator[bytes],
    rewriter: StreamRewriter,
    send: Send,
    watch: Watch,
    *,
    error_event: ErrorEvent | None = None,
) -> str | None:
    """An SSE answer: `first` (already read, before anything was sent) then the rest.

    No chunk for `idle` seconds, or the request's `deadline` passed: the stream ends with an
    error event and without `[DONE]`, so the client knows it is cut short. Returns that
    error's message, None when the stream ended well.
    """
    headers += STREAM_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    out = rewriter.feed(first)
    if out:
        await send({"type": "http.response.body", "body": out, "more_body": True})
    # Counted once the first event is out: nothing but the relaying itself stands between
    # an upstream's first event and the client (about 20 µs of a cold first chunk).
    metrics.stream_opened()
    try:
        return await _relay_rest(chunks, rewriter, send, watch, error_event)
    finally:
        metrics.stream_closed()


async def _relay_rest(
    chunks: AsyncIterator[bytes],
    rewriter: StreamRewriter,
    send: Send,
    watch: Watch,
    error_event: ErrorEvent | None,
) -> str | None:
    try:
        await _pass_on(chunks, rewriter.feed, send, watch)
    except TimeoutError:
        log.warning(
            "channel %s went silent mid-stream (request %s)", watch.route.name, watch.request_id
        )
        return await _end_with_error(
            send,
            "The upstream stopped sending; the answer is incomplete.",
            "upstream_timeout",
            error_event or openai_error_event,
        )
    except UPSTREAM_ERRORS as exc:
        # Headers are gone already; an error event is how an OpenAI client learns of it.
        log_broken_answer(watch.route, exc, watch.request_id)
        # A line cut off mid-way is dropped: half an event would only fail to parse.
        return await _end_with_error(
            send,
            "The upstream broke off the stream.",
            "upstream_error",
            error_event or openai_error_event,
        )
    await send({"type": "http.response.body", "body": rewriter.flush()})
    return None


async def _end_with_error(send: Send, message: str, code: str, event: ErrorEvent) -> str:
    await send({"type": "http.response.body", "body": event(message, code)})
    return message


async def relay_chunks(
    status: int,
    headers: list[tuple[bytes, bytes]],
    chunks: AsyncIterator[bytes],
    send: Send,
    watch: Watch,
) -> str | None:
    """Chunked binary (speech audio, say): pass it on as it arrives.

    Returns why it broke off, None when it ended well.
    """
    await send({"type": "http.response.start", "status": status, "headers": headers})
    try:
        await _pass_on(chunks, None, send, watch)
    except (TimeoutError, *UPSTREAM_ERRORS) as exc:
        # Ending the body normally would pass a truncated file off as whole: leave it
        # unfinished, so the server drops the connection and the client sees the break.
        log_broken_answer(watch.route, exc, watch.request_id)
        return "The upstream broke off its answer."
    await send({"type": "http.response.body", "body": b""})
    return None


def _pass_on(
    chunks: AsyncIterator[bytes],
    feed: Callable[[bytes], bytes] | None,
    send: Send,
    watch: Watch,
) -> asyncio.Task[None]:
    """Send each chunk on as it arrives (through `feed`, if any); TimeoutError when one is late.

    Each read may take `idle` seconds (and none may end past the deadline); the time the
    client takes to be sent to does not count: a slow client is not a silent upstream.

    The chunks are passed on in a task of their own, which the request's task awaits: a
    chunk's arrival then resumes only this loop, not every coroutine of the request's way
    through the relay (about ten, from the ASGI entry down), each resumed and suspended
    again per chunk: about 2,600 instructions a chunk (callgrind), for one task a stream.
    Cancelling the request's task (the client left) cancels this one too.
    """
    return asyncio.get_running_loop().create_task(_pass_each(chunks, feed, send, watch))


async def _pass_each(
    chunks: AsyncIterator[bytes],
    feed: Callable[[bytes], bytes] | None,
    send: Send,
    watch: Watch,
) -> None:
    window = ReadDeadline(watch.idle, watch.deadline)
    async with window:
        # `async for`, not anext(): no awaitable wrapped around each read.
        window.reading()
        async for chunk in chunks:
            window.not_reading()
            out = chunk if feed is None else feed(chunk)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
            window.reading()
        window.not_reading()
