"""How an upstream's answer is relayed while it is still arriving.

Server-sent events go out event line by event line through the SSE rewriter (sse.py);
other bodies of unknown length (speech audio, say) go out chunk by chunk as they come.
Headers are gone by then: a break can no longer fail over to another channel.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from core.errors import error_body, scrub, secrets_of
from core.http_clients import UPSTREAM_ERRORS
from gateway.relay.responses import Send
from gateway.relay.routing import Route
from gateway.relay.sse import SSERewriter

log = logging.getLogger(__name__)

STREAM_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def log_broken_answer(route: Route, exc: Exception, request_id: str) -> None:
    reason = scrub(str(exc) or type(exc).__name__, secrets_of(route.api_key, route.base_url))
    log.warning("channel %s broke off its answer: %s (request %s)", route.name, reason, request_id)


async def relay_stream(
    status: int,
    headers: list[tuple[bytes, bytes]],
    first: bytes,
    chunks: AsyncIterator[bytes],
    rewriter: SSERewriter,
    send: Send,
    *,
    route: Route,
    request_id: str,
) -> None:
    """An SSE answer: `first` (already read, before anything was sent) then the rest."""
    headers += STREAM_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    try:
        out = rewriter.feed(first)
        if out:
            await send({"type": "http.response.body", "body": out, "more_body": True})
        async for chunk in chunks:
            out = rewriter.feed(chunk)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
    except UPSTREAM_ERRORS as exc:
        # Headers are gone already; an error event is how an OpenAI client learns of it.
        log_broken_answer(route, exc, request_id)
        # A line cut off mid-way is dropped: half an event would only fail to parse.
        event = error_body(502, "The upstream broke off the stream.", code="upstream_error")
        await send({"type": "http.response.body", "body": b"data: " + event + b"\n\n"})
        return
    await send({"type": "http.response.body", "body": rewriter.flush()})


async def relay_chunks(
    status: int,
    headers: list[tuple[bytes, bytes]],
    chunks: AsyncIterator[bytes],
    send: Send,
    *,
    route: Route,
    request_id: str,
) -> None:
    """Chunked binary (speech audio, say): pass it on as it arrives."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except UPSTREAM_ERRORS as exc:
        # Ending the body normally would pass a truncated file off as whole: leave it
        # unfinished, so the server drops the connection and the client sees the break.
        log_broken_answer(route, exc, request_id)
        return
    await send({"type": "http.response.body", "body": b""})
