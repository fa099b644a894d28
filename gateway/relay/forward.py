"""Forward one request to an upstream channel, failing over to the next one, and answer.

The channels come in the order routing.py picks them; a channel cooling down after a 429
is skipped without an attempt. Until the first byte goes to the client, any failure
(unreachable, no first byte in time, a 5xx or refused key or rate limit, an answer cut
short, a 200 that is not the JSON it should be) moves on to the next channel, and is noted
for the channel's health (health.py, failures.py). When every channel failed, the client
gets one clean 502/503/504 in OpenAI's shape: nothing of the upstream's but its error
message, scrubbed. After the first byte a stream can only end with an error event
(stream_relay.py relays answers that are still arriving).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from httpx_aiohttp.transport import AiohttpResponseStream

from channels_admin.selectors import upstream_model
from core.errors import (
    ApiError,
    encoded_secrets,
    error_body,
    scrub,
    scrub_bytes,
    secrets_of,
    upstream_error_message,
)
from core.http_clients import UPSTREAM_ERRORS, get_relay_transport
from gateway import metrics
from gateway.relay.bodies import RELEASED_BODY
from gateway.relay.conf import setting
from gateway.relay.deadline import ReadDeadline
from gateway.relay.dialects import (
    ANTHROPIC,
    Call,
    CannotCall,
    client_error_body,
    plan_call,
)
from gateway.relay.failures import Failure, classify, retry_after_seconds
from gateway.relay.headers import client_response_headers
from gateway.relay.health import ChannelHealth
from gateway.relay.hops import outgoing_hops
from gateway.relay.keys import KeyPicker
from gateway.relay.metering import Meter
from gateway.relay.model_rename import rename_model, rename_model_in_json
from gateway.relay.recheck import RefusalRechecks
from gateway.relay.request import Forward
from gateway.relay.responses import JSON_CONTENT_TYPE, Send, send_json, send_whole
from gateway.relay.routing import Route
from gateway.relay.slots import ChannelSlots
from gateway.relay.sse import SSERewriter
from gateway.relay.stream_relay import Watch, log_broken_answer, relay_chunks, relay_stream
from gateway.relay.stream_usage import StreamTap
from gateway.relay.translated_answers import answer_across_dialects
from usage.counting import answer_text, usage_in_tail, usage_of_answer

log = logging.getLogger(__name__)

MAX_ERROR_BODY = 64 * 1024
# Endpoints whose answer, unless streamed, is a JSON object: anything else there (a captive
# portal's HTML page, a crashed provider's text) is a failure, not an answer.
JSON_ANSWER_PATHS = frozenset(
    {
        "/chat/completions",
        "/completions",
        "/embeddings",
        "/moderations",
        "/responses",
        "/messages",
        "/messages/count_tokens",
    }
)
# Answers up to this size are parsed to prove they are JSON; bigger ones are only outlined.
FULL_JSON_CHECK_BYTES = 1024 * 1024
_WRITE_TIMEOUT = 60.0
DETAIL_LIMIT = 300


@dataclass(slots=True)
class Limits:
    """What the relay app shares across requests: caps, rechecks, the channels' health."""

    attempts: int  # channels tried at most (1 + retries)
    slots: ChannelSlots
    rechecks: RefusalRechecks
    health: ChannelHealth
    fatal_patterns: tuple[str, ...] = ()
    cooldown_seconds: float = 30.0
    keys: KeyPicker = field(default_factory=lambda: KeyPicker(random.Random()))


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    first_byte: float
    stream_idle: float
    total: float
    for_httpx: dict[str, float | None]  # the transport's "timeout" request extension


@dataclass(slots=True)
class _Failed:
    """Why one channel's try failed; the last one is what the client hears of."""

    status: int  # what the client gets if no channel does better: 502, 503 or 504
    code: str
    detail: str  # scrubbed: nothing of the channel's key or address
    retry_after: float | None = None
    upstream_status: int | None = None  # the channel's HTTP status, when it answered one
    key_refused: bool = False  # one of several keys refused: the channel's next key may do
    # The channel cannot take this request at all (dialects.CannotCall): nothing was sent,
    # nothing is noted against it, and it uses up no retry.
    skipped: bool = False
    param: str | None = None


def timeouts_for(route: Route) -> Timeouts:
    return _timeouts(
        route.connect_timeout or setting("CONNECT_TIMEOUT"),
        route.first_byte_timeout or setting("FIRST_BYTE_TIMEOUT"),
        route.stream_idle_timeout or setting("STREAM_IDLE_TIMEOUT"),
        route.total_timeout or setting("TOTAL_TIMEOUT"),
    )


@lru_cache(maxsize=256)
def _timeouts(connect: float, first_byte: float, stream_idle: float, total: float) -> Timeouts:
    # Only the connect timeout for the transport: every wait after it, a free connection in
    # the pool included, runs under the relay's own deadlines (first byte, stream idle, total).
    # aiohttp set a timer per request for the pool and moved its read timer on every chunk,
    # CPU and a timer per open stream for nothing.
    return Timeouts(
        connect,
        first_byte,
        stream_idle,
        total,
        httpx.Timeout(connect=connect, read=None, write=_WRITE_TIMEOUT, pool=None).as_dict(),
    )


# Channels' URLs recur: parsed once, not per request.
_parsed_url = lru_cache(maxsize=4096)(httpx.URL)


async def forward(request: Forward, routes: Iterable[Route], send: Send, limits: Limits) -> None:
    """Try the routes in order, skipping cooling ones and any at its connection cap.

    Raises ApiError when every attempt failed before anything reached the client.
    """
    transport = get_relay_transport()
    loop = asyncio.get_running_loop()
    started = loop.time()
    meter = request.meter
    failed: _Failed | None = None
    refused: _Failed | None = None  # the last channel that could not take the request
    cooling = 0
    tried = 0
    for route in routes:
        if tried >= limits.attempts:
            break
        if limits.health.is_cooling(route):
            cooling += 1
            continue
        if not limits.slots.try_acquire(route.channel_id):
            log.info(
                "channel %s is at its connection cap (request %s)", route.name, request.request_id
            )
            continue
        tried += 1
        keys_tried: set[int] = set()
        try:
            # Another key of the same channel when one was refused (keys.py).
            while (keyed := limits.keys.choose(route, keys_tried)) is not None:
                keys_tried.add(keyed.key_index)
                attempt_started = loop.time()
                outcome: _Failed | None = _INTERRUPTED
                try:
                    outcome = await _attempt(transport, keyed, request, send, limits, started)
                finally:
                    if outcome is None or not outcome.skipped:
                        metrics.observe_attempt(route.name, _attempt_outcome(outcome))
                        if meter is not None:
                            _note_attempt(meter, keyed, outcome, attempt_started, loop.time())
                if outcome is not None and outcome.skipped:
                    refused = outcome
                    tried -= 1
                    break
                failed = outcome
                if failed is None:
                    return
                if not failed.key_refused:
                    break
        finally:
            limits.slots.release(route.channel_id)
    if failed is None and refused is not None:
        raise ApiError(refused.status, refused.detail, code=refused.code, param=refused.param)
    if failed is None:
        if cooling:
            raise ApiError(
                503,
                "Every channel for this model is cooling down after a rate limit; "
                "try again shortly.",
                code="channels_cooling_down",
            )
        raise ApiError(
            503, "Every channel for this model is busy; try again shortly.", code="channel_busy"
        )
    headers = {}
    if failed.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(failed.retry_after)))
    raise ApiError(
        failed.status,
        f"No channel could answer this request. The last upstream error: {failed.detail}",
        code=failed.code,
        headers=headers,
    )


# An attempt cut off by the client leaving (or an error of the relay's own).
_INTERRUPTED = _Failed(499, "interrupted", "The attempt was cut off.")
# The metrics' reason for an upstream error answer of each kind.
_FAILURE_REASONS: dict[Failure, metrics.FailureReason] = {
    Failure.FATAL: "refused",
    Failure.MODEL: "model_missing",
    Failure.RATE_LIMITED: "rate_limited",
    Failure.TRANSIENT: "http_5xx",
    Failure.CLIENT: "client_error",
}


def _attempt_outcome(outcome: _Failed | None) -> metrics.AttemptOutcome:
    if outcome is None:
        return "answered"
    return "interrupted" if outcome is _INTERRUPTED else "failed"


def _note_attempt(
    meter: Meter, route: Route, outcome: _Failed | None, started: float, now: float
) -> None:
    if outcome is None:  # answered: with its own status and error (a 4xx passed on)
        meter.attempt(
            route.channel_id, meter.answer_status, meter.entry.error or None, started, now
        )
    elif outcome is _INTERRUPTED:
        # The channel may have been answering when the client left.
        answering = meter.entry.channel_id == route.channel_id
        status = meter.answer_status if answering else None
        meter.attempt(route.channel_id, status, outcome.detail, started, now)
    else:
        meter.attempt(route.channel_id, outcome.upstream_status, outcome.detail, started, now)


async def _attempt(
    transport: httpx.AsyncBaseTransport,
    route: Route,
    request: Forward,
    send: Send,
    limits: Limits,
    started: float,
) -> _Failed | None:
    """One channel's try: None once an answer went to the client, else why it failed."""
    timeouts = timeouts_for(route)
    loop = asyncio.get_running_loop()
    deadline = started + timeouts.total
    if loop.time() >= deadline:
        metrics.observe_failure(route.name, "timeout")
        return _Failed(504, "upstream_timeout", "The request ran out of time.")
    sent_model = upstream_model(route.model_mapping, request.model)
    if request.meter is not None:
        request.meter.entry.upstream_model = sent_model
    # The path was rebuilt from validated segments: nothing in it can climb out of base_url.
    try:
        call = plan_call(
            route,
            path=request.path,
            query=request.query,
            client_headers=request.headers,
            body=request.body,
            parsed=request.parsed,
            sent_model=sent_model,
            client_model=request.model,
            request_id=request.request_id,
            hops=outgoing_hops(request.hops),
        )
    except CannotCall as exc:
        return _Failed(400, exc.code, exc.message, param=exc.param, skipped=True)
    if call.local_answer is not None:
        if request.meter is not None:
            request.meter.entry.channel_id = route.channel_id
            request.meter.answer_status = 200
        await send_json(send, 200, call.local_answer, request.request_id)
        return None
    # The body as a stream, read at once: httpx then leaves the headers as they are (aiohttp
    # adds Host and Content-Length), instead of rebuilding them (about 15 µs a request).
    outgoing = httpx.Request(
        request.method,
        _parsed_url(call.url),
        headers=call.headers,
        stream=httpx.ByteStream(call.body),
        extensions={"timeout": timeouts.for_httpx},
    )
    outgoing.read()
    response: httpx.Response | None = None
    try:
        try:
            # No response head (for a stream: no first event) in time: the next channel;
            # nothing reached the client yet.
            first_byte = ReadDeadline(timeouts.first_byte, deadline)
            async with first_byte:
                first_byte.reading()
                response = await transport.handle_async_request(outgoing)
                opening = await _read_opening(response, request)
            if opening.chunks is not None:
                _let_bodies_go(request, call, outgoing)
        except TimeoutError:
            return _timed_out(route, request, limits, timeouts.first_byte)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                # aiohttp's refused connections arrive as ConnectTimeout too.
                return _unreachable(route, exc, request.request_id, limits)
            return _timed_out(route, request, limits, timeouts.first_byte)
        except UPSTREAM_ERRORS as exc:
            if response is None:
                return _unreachable(route, exc, request.request_id, limits)
            return _broke_off(route, exc, request.request_id, limits)
        return await _answer(
            response, opening, route, request, call, sent_model, send, limits, timeouts, deadline
        )
    finally:
        if response is not None:
            try:
                await _close(response)
            except UPSTREAM_ERRORS:
                pass  # the answer is over either way


_NO_BODY = httpx.ByteStream(b"")


def _let_bodies_go(request: Forward, call: Call, sent: httpx.Request) -> None:
    """Once the answer streams, drops what only another channel's attempt would need.

    No other channel will be tried now, and a stream stays open for minutes while thousands
    do. The decoded request body goes (the meter keeps the bytes, to estimate the prompt
    should the upstream report no usage). So does the body sent upstream: a renamed model or
    a translated request is a second copy of the prompt, held by the attempt and by httpx's
    request (the answer keeps it). The transport keeps what it still has to write.
    """
    if request.meter is not None:
        request.meter.keep_payload_as_bytes(request.body)
    request.parsed = RELEASED_BODY
    call.body = b""
    sent.stream = _NO_BODY
    # httpx keeps the body it read as well, with no public way to drop it.
    sent._content = b""


@dataclass(slots=True)
class _Opening:
    """What was read of an answer before anything goes to the client."""

    kind: str  # "error", "stream", "chunks" or "whole"
    content: bytes = b""
    chunks: AsyncIterator[bytes] | None = None


async def _read_opening(response: httpx.Response, request: Forward) -> _Opening:
    status = response.status_code
    content_type, has_length, identity = _head_fields(response.headers.raw)
    if status >= 400:
        return _Opening("error", await _read_limited(response))
    if content_type.startswith("text/event-stream"):
        chunks = body_chunks(response, identity)
        return _Opening("stream", await anext(chunks, b""), chunks)
    if content_type.startswith("text/html"):
        # Never an API's answer: a captive portal or a crashed provider's page.
        return _Opening("garbage")
    if request.path in JSON_ANSWER_PATHS:
        return _Opening("whole", await _read_whole(response, identity))
    if not has_length and not content_type.startswith("application/json"):
        return _Opening("chunks", chunks=body_chunks(response, identity))
    return _Opening("whole", await _read_whole(response, identity))


def _head_fields(raw: list[tuple[bytes, bytes]]) -> tuple[str, bool, bool]:
    """Content-Type, whether Content-Length is given, whether the body is uncompressed.

    One pass over the raw headers: each lookup in httpx's Headers lower-cases and decodes
    every header again, three of them about 5 µs a request.
    """
    content_type = ""
    has_length = False
    identity = True
    for name, value in raw:
        lowered = name.lower()
        if lowered == b"content-type":
            content_type = value.decode("latin-1")
        elif lowered == b"content-length":
            has_length = True
        elif lowered == b"content-encoding":
            identity = value.strip().lower() in (b"identity", b"")
    return content_type, has_length, identity


def body_chunks(response: httpx.Response, identity: bool | None = None) -> AsyncIterator[bytes]:
    """The answer's body as it arrives (`identity`: whether it is uncompressed, if known).

    The relay asks upstreams for no compression, so httpx's decoding layers usually have
    nothing to do: then the transport's stream is read as it is, which saves about 10 µs an
    answer and a few µs a chunk (`make bench`). An answer compressed all the same is decoded.
    """
    if identity is None:
        identity = _head_fields(response.headers.raw)[2]
    stream = response.stream
    if identity and isinstance(stream, AiohttpResponseStream):
        # The aiohttp response that httpx-aiohttp's stream wraps, read as the floor reads
        # it: its stream is an async generator around aiohttp's reads of at most 16 KiB, a
        # layer every chunk passed through both ways (about 4,000 instructions a chunk,
        # callgrind). aiohttp's errors are caught as the relay's UPSTREAM_ERRORS all the same.
        return stream._aiohttp_response.content.iter_any()
    if identity and isinstance(stream, httpx.AsyncByteStream):
        return aiter(stream)
    return response.aiter_bytes()


async def _close(response: httpx.Response) -> None:
    """Hands the answer's connection back to the pool (or drops it, if the answer was not
    read to its end), as httpx's `aclose` does.

    httpx-aiohttp's stream is closed the way its own `aclose` closes it, on the aiohttp
    response it wraps, without the request context and the exception mapper httpx and
    httpx-aiohttp put around that (two context managers a request); aiohttp's errors are
    the relay's UPSTREAM_ERRORS all the same.
    """
    stream = response.stream
    if isinstance(stream, AiohttpResponseStream):
        if not response.is_closed:
            response.is_closed = True
            await stream._aiohttp_response.__aexit__(None, None, None)
        return
    await response.aclose()


async def _read_whole(response: httpx.Response, identity: bool | None = None) -> bytes:
    stream = response.stream
    if identity and isinstance(stream, AiohttpResponseStream):
        return await stream._aiohttp_response.read()  # in one call (see body_chunks)
    return b"".join([chunk async for chunk in body_chunks(response, identity)])


@lru_cache(maxsize=1024)
def _secrets(api_key: str, base_url: str) -> tuple[tuple[str, ...], tuple[bytes, ...], bytes]:
    """A channel's secrets as text and bytes, and its key alone: worked out once per channel."""
    secrets = secrets_of(api_key, base_url)
    try:
        port = urlsplit(base_url).port
    except ValueError:
        port = None
    if port is not None and len(str(port)) >= 4:
        secrets.append(str(port))  # an error that names the port alone names the channel too
    key = api_key.encode() if api_key in secrets else b""
    return tuple(secrets), tuple(encoded_secrets(secrets)), key


def _reason(route: Route, text: str) -> str:
    """A failure's reason, fit for the channel's status, the audit log and the client."""
    return scrub(text, _secrets(route.api_key, route.base_url)[0])[:DETAIL_LIMIT]


def _unreachable(route: Route, exc: Exception, request_id: str, limits: Limits) -> _Failed:
    reason = _reason(route, str(exc) or type(exc).__name__)
    log.warning("channel %s unreachable: %s (request %s)", route.name, reason, request_id)
    metrics.observe_failure(route.name, "unreachable")
    limits.health.note_failure(route.channel_id, f"unreachable: {reason}")
    return _Failed(502, "upstream_error", "The upstream could not be reached.")


def _timed_out(route: Route, request: Forward, limits: Limits, seconds: float) -> _Failed:
    metrics.observe_failure(route.name, "timeout")
    log.warning(
        "channel %s sent nothing within %ss (request %s)", route.name, seconds, request.request_id
    )
    limits.health.note_failure(route.channel_id, f"no answer within {seconds:g} s")
    return _Failed(504, "upstream_timeout", f"The upstream did not answer within {seconds:g} s.")


def _broke_off(route: Route, exc: Exception, request_id: str, limits: Limits) -> _Failed:
    metrics.observe_failure(route.name, "garbage")  # an answer cut short
    log_broken_answer(route, exc, request_id)
    limits.health.note_failure(route.channel_id, "the upstream broke off its answer")
    return _Failed(502, "upstream_error", "The upstream broke off its answer.")


def _garbage(route: Route, request: Forward, limits: Limits, what: str, status: int) -> _Failed:
    metrics.observe_failure(route.name, "garbage")
    log.warning("channel %s answered %s (request %s)", route.name, what, request.request_id)
    limits.health.note_failure(route.channel_id, f"answered {what}")
    return _Failed(502, "upstream_error", f"The upstream answered {what}.", upstream_status=status)


async def _answer(
    response: httpx.Response,
    opening: _Opening,
    route: Route,
    request: Forward,
    call: Call,
    sent_model: str,
    send: Send,
    limits: Limits,
    timeouts: Timeouts,
    deadline: float,
) -> _Failed | None:
    status = response.status_code
    _, secret_bytes, key_bytes = _secrets(route.api_key, route.base_url)
    if opening.kind == "error":
        return await _upstream_failed(response, opening.content, route, request, send, limits)
    if call.translation is not None or call.upstream_dialect == ANTHROPIC:
        headers = client_response_headers(response.headers, secret_bytes)
        headers.append((b"x-request-id", request.request_id.encode()))
        wrong = await answer_across_dialects(
            response,
            opening.kind,
            opening.content,
            opening.chunks,
            request,
            call,
            headers,
            send,
            Watch(route, request.request_id, timeouts.stream_idle, deadline),
            secret_bytes,
            key_bytes,
        )
        return None if wrong is None else _garbage(route, request, limits, wrong, status)
    if opening.kind == "garbage":
        return _garbage(route, request, limits, f"HTTP {status} with an HTML page", status)
    content = opening.content
    answer: dict[str, Any] | None = None
    if opening.kind == "whole" and request.path in JSON_ANSWER_PATHS:
        is_object, answer = _json_object(content)
        if not is_object:
            what = f"HTTP {status} with a body that is not JSON"
            return _garbage(route, request, limits, what, status)
    meter = request.meter
    if meter is not None:
        meter.entry.channel_id = route.channel_id
        meter.answer_status = status

    headers = client_response_headers(response.headers, secret_bytes)
    headers.append((b"x-request-id", request.request_id.encode()))
    renamed = sent_model != request.model
    if opening.chunks is not None:  # a stream or chunks: relayed while still arriving
        watch = Watch(route, request.request_id, timeouts.stream_idle, deadline)
        if opening.kind == "stream":
            tap = None
            if meter is not None:
                tap = meter.tap = StreamTap(hide_usage=meter.ask_stream_usage)
            rewriter = SSERewriter(
                request.model if renamed else None,
                key=key_bytes,
                secrets=secret_bytes,
                tap=tap,
            )
            broke = await relay_stream(
                status, headers, content, opening.chunks, rewriter, send, watch
            )
        else:
            broke = await relay_chunks(status, headers, opening.chunks, send, watch)
        if meter is not None and broke:
            meter.entry.error = broke
        return None
    if meter is not None:
        _note_answer_usage(meter, request, response, content, answer)
    if renamed and response.headers.get("content-type", "").startswith("application/json"):
        if answer is None:
            content = rename_model_in_json(content, request.model)
        elif rename_model(answer, request.model):
            # Already parsed for the JSON check and the usage: not parsed a second time.
            content = orjson.dumps(answer)
    if key_bytes and content.find(key_bytes) >= 0:  # find, not `in`: see scrub_bytes
        content = scrub_bytes(content, [key_bytes])
    await send_whole(send, status, headers, content)
    return None


async def _upstream_failed(
    response: httpx.Response,
    content: bytes,
    route: Route,
    request: Forward,
    send: Send,
    limits: Limits,
) -> _Failed | None:
    """An error answer: the request's own fault goes to the client; the rest fails over."""
    status = response.status_code
    secrets, secret_bytes, _ = _secrets(route.api_key, route.base_url)
    kind = classify(status, content, limits.fatal_patterns)
    metrics.observe_failure(route.name, _FAILURE_REASONS[kind])
    if kind is Failure.CLIENT:
        if request.meter is not None:
            request.meter.entry.channel_id = route.channel_id
            request.meter.answer_status = status
            request.meter.entry.error = upstream_error_message(status, content, secrets)
        headers = client_response_headers(response.headers, secret_bytes)
        # The body is now our JSON error, whatever type the upstream's was.
        headers = [header for header in headers if header[0] != b"content-type"]
        headers += [JSON_CONTENT_TYPE, (b"x-request-id", request.request_id.encode())]
        if request.dialect == ANTHROPIC:
            error = client_error_body(status, content, secrets)
        else:
            error = _upstream_error(status, content, secrets)
        await send_whole(send, status, headers, error)
        return None
    detail = upstream_error_message(status, content, secrets)[:DETAIL_LIMIT]
    log.warning(
        "channel %s answered %s (%s) (request %s)",
        route.name,
        status,
        kind.value,
        request.request_id,
    )
    reason = f"HTTP {status}: {detail}"
    if kind is Failure.FATAL and len(route.keys) > 1:
        # One key of several: left out here at once, tested alone, disabled alone if it fails.
        limits.keys.suspect(route.channel_id, route.key_index)
        limits.rechecks.note_refused_key(route.channel_id, route.key_index)
        return _Failed(502, "upstream_error", detail, upstream_status=status, key_refused=True)
    if kind is Failure.FATAL:
        # Maybe the key, maybe something in this request: the channel test tells which.
        limits.rechecks.note_refused(route.channel_id)
    elif kind is Failure.MODEL:
        limits.health.disable_model(route.channel_id, request.model, reason)
    elif kind is Failure.RATE_LIMITED:
        seconds = retry_after_seconds(response.headers.get("retry-after"), time.time())
        seconds = seconds or limits.cooldown_seconds
        limits.health.cool_down(route.channel_id, seconds)
        return _Failed(
            503, "upstream_rate_limited", detail, retry_after=seconds, upstream_status=status
        )
    else:
        limits.health.note_failure(route.channel_id, reason)
    return _Failed(502, "upstream_error", detail, upstream_status=status)


def _json_object(content: bytes) -> tuple[bool, dict[str, Any] | None]:
    """Whether `content` is a JSON object, and the object (None when too big to parse)."""
    if len(content) > FULL_JSON_CHECK_BYTES:
        # A big answer (many embeddings) is not parsed twice: its outline has to do.
        stripped = content.strip()
        return stripped[:1] == b"{" and stripped[-1:] == b"}", None
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        return False, None
    return isinstance(payload, dict), payload if isinstance(payload, dict) else None


def _note_answer_usage(
    meter: Meter,
    request: Forward,
    response: httpx.Response,
    content: bytes,
    answer: dict[str, Any] | None,
) -> None:
    """The usage a whole answer reports; a chat or completion without any gets estimated."""
    if answer is None and request.path not in JSON_ANSWER_PATHS:
        if not response.headers.get("content-type", "").startswith("application/json"):
            return  # audio, say: no usage to read
        if len(content) <= FULL_JSON_CHECK_BYTES:
            answer = _json_object(content)[1]
    if answer is not None:
        meter.usage = usage_of_answer(answer)
        if meter.usage is None and request.path in ("/chat/completions", "/completions"):
            meter.answer_text = answer_text(answer)
    else:
        meter.usage = usage_in_tail(content)


async def _read_limited(response: httpx.Response) -> bytes:
    body = b""
    async for chunk in body_chunks(response):
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body[:MAX_ERROR_BODY]


def _upstream_error(status: int, content: bytes, secrets: Sequence[str]) -> bytes:
    """The upstream's error in OpenAI's shape, its key and address scrubbed out."""
    message = upstream_error_message(status, content, secrets)
    error: dict[str, Any] = {}
    try:
        payload = orjson.loads(content)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
    except orjson.JSONDecodeError:
        pass

    def field(name: str) -> str | None:
        value = error.get(name)
        return scrub(value, secrets)[:200] if isinstance(value, str) else None

    return error_body(status, message, code=field("code"), param=field("param"), type=field("type"))
