"""Forward one request to an upstream channel, failing over to the next one, and answer.

The channels come in the order routing.py picks them. Until the first byte goes to the
client, any failure (unreachable, timed out, a retryable status, an answer cut short) moves
on to the next channel; after it, a stream can only end with an error event
(stream_relay.py relays answers that are still arriving).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
import orjson

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
from core.http_clients import UPSTREAM_ERRORS, get_client
from gateway.relay.bodies import ParsedBody, with_model
from gateway.relay.headers import client_response_headers, upstream_headers
from gateway.relay.hops import outgoing_hops
from gateway.relay.model_rename import rename_model_in_json
from gateway.relay.recheck import RefusalRechecks
from gateway.relay.responses import JSON_CONTENT_TYPE, Send, send_whole
from gateway.relay.routing import Route
from gateway.relay.slots import ChannelSlots
from gateway.relay.sse import SSERewriter
from gateway.relay.stream_relay import log_broken_answer, relay_chunks, relay_stream

log = logging.getLogger(__name__)

# Worth another channel: the upstream is overloaded, broken, or refuses our key.
RETRYABLE_STATUSES = frozenset({401, 408, 429, 500, 502, 503, 504})
MAX_ERROR_BODY = 64 * 1024


@dataclass(slots=True)
class Forward:
    method: str
    path: str  # the validated path after the base URL, e.g. "/chat/completions"
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    parsed: ParsedBody
    model: str
    request_id: str
    hops: int  # gateways this request passed before this one


@dataclass(slots=True)
class Limits:
    """What the relay app shares across requests: caps, and the 401 rechecks."""

    attempts: int  # channels tried at most (1 + retries)
    slots: ChannelSlots
    rechecks: RefusalRechecks


@dataclass(slots=True)
class _Refusal:
    """An upstream's retryable error answer, kept in case no other channel does better."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


async def forward(request: Forward, routes: Iterable[Route], send: Send, limits: Limits) -> None:
    """Try the routes in order, skipping any at its connection cap, until one answers.

    Raises ApiError when every attempt failed before anything reached the client.
    """
    client = get_client()
    outcome: ApiError | _Refusal | None = None
    tried = 0
    for route in routes:
        if tried >= limits.attempts:
            break
        if not limits.slots.try_acquire(route.channel_id):
            log.info(
                "channel %s is at its connection cap (request %s)", route.name, request.request_id
            )
            continue
        tried += 1
        try:
            outcome = await _attempt(client, route, request, send, limits.rechecks)
        finally:
            limits.slots.release(route.channel_id)
        if outcome is None:
            return
    if outcome is None:
        raise ApiError(
            503, "Every channel for this model is busy; try again shortly.", code="channel_busy"
        )
    if isinstance(outcome, ApiError):
        raise outcome
    await send_whole(send, outcome.status, outcome.headers, outcome.body)


async def _attempt(
    client: httpx.AsyncClient,
    route: Route,
    request: Forward,
    send: Send,
    rechecks: RefusalRechecks,
) -> ApiError | _Refusal | None:
    """One channel's try: None once an answer went to the client, else why it failed."""
    sent_model = upstream_model(route.model_mapping, request.model)
    # The path was rebuilt from validated segments: nothing in it can climb out of base_url.
    url = route.base_url + request.path
    if request.query:
        url += "?" + request.query.decode("ascii")
    outgoing = client.build_request(
        request.method,
        url,
        headers=upstream_headers(
            request.headers, route.api_key, request.request_id, outgoing_hops(request.hops)
        ),
        content=with_model(request.body, request.parsed, sent_model),
    )
    try:
        response = await client.send(outgoing, stream=True)
    except httpx.TimeoutException as exc:
        if not isinstance(exc, httpx.ConnectTimeout):
            log.warning("channel %s timed out (request %s)", route.name, request.request_id)
            return ApiError(504, "The upstream timed out.", code="upstream_timeout")
        # aiohttp's refused connections arrive as ConnectTimeout: "unreachable" covers both.
        return _unreachable(route, exc, request.request_id)
    except UPSTREAM_ERRORS as exc:
        return _unreachable(route, exc, request.request_id)
    try:
        return await _answer(response, route, request, sent_model, send, rechecks)
    finally:
        try:
            await response.aclose()
        except UPSTREAM_ERRORS:
            pass  # the answer is over either way


@lru_cache(maxsize=1024)
def _secrets(api_key: str, base_url: str) -> tuple[tuple[str, ...], tuple[bytes, ...], bytes]:
    """A channel's secrets as text and bytes, and its key alone: worked out once per channel."""
    secrets = secrets_of(api_key, base_url)
    key = api_key.encode() if api_key in secrets else b""
    return tuple(secrets), tuple(encoded_secrets(secrets)), key


def _unreachable(route: Route, exc: Exception, request_id: str) -> ApiError:
    reason = scrub(str(exc) or type(exc).__name__, secrets_of(route.api_key, route.base_url))
    log.warning("channel %s unreachable: %s (request %s)", route.name, reason, request_id)
    return ApiError(502, "The upstream could not be reached.", code="upstream_error")


def _broke_off(route: Route, exc: Exception, request_id: str) -> ApiError:
    log_broken_answer(route, exc, request_id)
    return ApiError(502, "The upstream broke off its answer.", code="upstream_error")


async def _answer(
    response: httpx.Response,
    route: Route,
    request: Forward,
    sent_model: str,
    send: Send,
    rechecks: RefusalRechecks,
) -> ApiError | _Refusal | None:
    status = response.status_code
    if status == 401:
        # Maybe the key, maybe something in this request: the channel test tells which.
        rechecks.note_refused(route.channel_id)
    secrets, secret_bytes, key_bytes = _secrets(route.api_key, route.base_url)
    headers = client_response_headers(response.headers, secret_bytes)
    headers.append((b"x-request-id", request.request_id.encode()))
    content_type = response.headers.get("content-type", "")
    renamed = sent_model != request.model
    first = b""
    content = b""
    chunks: AsyncIterator[bytes] | None = None
    # Everything read here comes before the first byte to the client: a failure fails over.
    try:
        if status >= 400:
            content = await _read_limited(response)
        elif content_type.startswith("text/event-stream"):
            chunks = response.aiter_bytes()
            first = await anext(chunks, b"")
        elif "content-length" not in response.headers and not content_type.startswith(
            "application/json"
        ):
            chunks = response.aiter_bytes()
        else:
            content = await response.aread()
    except UPSTREAM_ERRORS as exc:
        return _broke_off(route, exc, request.request_id)

    if status >= 400:
        body = _upstream_error(status, content, secrets)
        # The body is now our JSON error, whatever type the upstream's was.
        headers = [header for header in headers if header[0] != b"content-type"]
        headers.append(JSON_CONTENT_TYPE)
        if status in RETRYABLE_STATUSES:
            log.warning(
                "channel %s answered %s (request %s)", route.name, status, request.request_id
            )
            return _Refusal(status, headers, body)
        await send_whole(send, status, headers, body)
        return None
    if content_type.startswith("text/event-stream"):
        rewriter = SSERewriter(
            request.model if renamed else None,
            key=key_bytes,
            secrets=secret_bytes,
        )
        assert chunks is not None
        await relay_stream(
            status,
            headers,
            first,
            chunks,
            rewriter,
            send,
            route=route,
            request_id=request.request_id,
        )
        return None
    if "content-length" not in response.headers and not content_type.startswith("application/json"):
        assert chunks is not None
        await relay_chunks(
            status, headers, chunks, send, route=route, request_id=request.request_id
        )
        return None
    if renamed and content_type.startswith("application/json"):
        content = rename_model_in_json(content, request.model)
    if key_bytes and key_bytes in content:
        content = scrub_bytes(content, [key_bytes])
    await send_whole(send, status, headers, content)
    return None


async def _read_limited(response: httpx.Response) -> bytes:
    body = b""
    async for chunk in response.aiter_bytes():
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
