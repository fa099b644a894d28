"""Forward one request to an upstream channel, retrying on another, and relay the answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from asgiref.sync import sync_to_async

from channels_admin.services import channel_auto_disable
from gateway.relay.bodies import ParsedBody, with_model
from gateway.relay.errors import error_body, scrub, secrets_of, upstream_error_message
from gateway.relay.routing import Route
from gateway.relay.streaming import SSEModelRenamer, rename_model_in_json
from gateway.relay.upstream import client_response_headers, get_client, upstream_headers

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

# Worth another channel: the upstream is overloaded, broken, or refuses our key.
RETRYABLE_STATUSES = frozenset({401, 408, 429, 500, 502, 503, 504})
MAX_ERROR_BODY = 64 * 1024


@dataclass(slots=True)
class Forward:
    method: str
    path: str  # after /v1, e.g. "/chat/completions"
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    parsed: ParsedBody
    model: str
    request_id: str
    auto_disable: bool


class UpstreamFailed(Exception):
    """Every attempt failed before a response: nothing reached the client yet."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


async def forward(request: Forward, routes: list[Route], send: Send) -> None:
    client = get_client()
    failure = UpstreamFailed(502, "No upstream channel answered.", "upstream_error")
    for attempt, route in enumerate(routes):
        last = attempt == len(routes) - 1
        upstream_model = route.upstream_model(request.model)
        url = route.base_url + request.path
        if request.query:
            url += "?" + request.query.decode("latin-1")
        outgoing = client.build_request(
            request.method,
            url,
            headers=upstream_headers(request.headers, route.api_key, request.request_id),
            content=with_model(request.body, request.parsed, upstream_model),
        )
        try:
            response = await client.send(outgoing, stream=True)
        except httpx.TimeoutException as exc:
            if not isinstance(exc, httpx.ConnectTimeout):
                log.warning("channel %s timed out (request %s)", route.name, request.request_id)
                failure = UpstreamFailed(504, "The upstream timed out.", "upstream_timeout")
                continue
            # aiohttp's refused connections arrive as ConnectTimeout: "unreachable" covers both.
            failure = _unreachable(route, exc, request.request_id)
            continue
        except httpx.HTTPError as exc:
            failure = _unreachable(route, exc, request.request_id)
            continue
        try:
            if response.status_code == 401 and request.auto_disable:
                await _auto_disable(route, response)
            if response.status_code in RETRYABLE_STATUSES and not last:
                log.warning(
                    "channel %s answered %s; trying another (request %s)",
                    route.name,
                    response.status_code,
                    request.request_id,
                )
                continue
            await _relay_response(response, route, request, upstream_model, send)
            return
        finally:
            await response.aclose()
    raise failure


def _unreachable(route: Route, exc: Exception, request_id: str) -> UpstreamFailed:
    reason = scrub(str(exc) or type(exc).__name__, secrets_of(route.api_key, route.base_url))
    log.warning("channel %s unreachable: %s (request %s)", route.name, reason, request_id)
    return UpstreamFailed(502, "The upstream could not be reached.", "upstream_error")


async def _auto_disable(route: Route, response: httpx.Response) -> None:
    content = await response.aread()
    reason = scrub(
        upstream_error_message(401, content[:MAX_ERROR_BODY]),
        secrets_of(route.api_key, route.base_url),
    )
    try:
        disabled = await sync_to_async(channel_auto_disable)(
            channel_id=route.channel_id, reason=f"Upstream refused the key: {reason}"
        )
    except Exception:
        # The request still deserves its retry; the next 401 tries the write again.
        log.exception("could not auto-disable channel %s", route.name)
        return
    if disabled:
        log.warning("channel %s auto-disabled: the upstream refused its key", route.name)


async def _relay_response(
    response: httpx.Response, route: Route, request: Forward, upstream_model: str, send: Send
) -> None:
    status = response.status_code
    headers = client_response_headers(response.headers)
    headers.append((b"x-request-id", request.request_id.encode()))
    renamed = upstream_model != request.model
    content_type = response.headers.get("content-type", "")

    if status >= 400:
        body = await _read_limited(response)
        await _send_whole(send, status, headers, _upstream_error(status, body, route))
        return
    if content_type.startswith("text/event-stream"):
        await _relay_stream(response, route, request, headers, renamed, send)
        return
    if "content-length" not in response.headers and not content_type.startswith("application/json"):
        # Chunked binary (speech audio, say): pass it on as it arrives.
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async for chunk in response.aiter_bytes():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = await response.aread()
    if renamed and content_type.startswith("application/json"):
        body = rename_model_in_json(body, request.model)
    await _send_whole(send, status, headers, body)


async def _relay_stream(
    response: httpx.Response,
    route: Route,
    request: Forward,
    headers: list[tuple[bytes, bytes]],
    renamed: bool,
    send: Send,
) -> None:
    headers += [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    renamer = SSEModelRenamer(request.model) if renamed else None
    try:
        async for chunk in response.aiter_bytes():
            out = renamer.feed(chunk) if renamer else chunk
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
    except httpx.HTTPError as exc:
        # Headers are gone already; an error event is how an OpenAI client learns of it.
        reason = scrub(str(exc) or type(exc).__name__, secrets_of(route.api_key, route.base_url))
        log.warning(
            "channel %s broke off a stream: %s (request %s)", route.name, reason, request.request_id
        )
        event = error_body(502, "The upstream broke off the stream.", code="upstream_error")
        await send(
            {"type": "http.response.body", "body": b"data: " + event + b"\n\n", "more_body": True}
        )
    tail = renamer.flush() if renamer else b""
    await send({"type": "http.response.body", "body": tail})


async def _read_limited(response: httpx.Response) -> bytes:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body[:MAX_ERROR_BODY]


def _upstream_error(status: int, content: bytes, route: Route) -> bytes:
    """The upstream's error in OpenAI's shape, its key and address scrubbed out."""
    secrets = secrets_of(route.api_key, route.base_url)
    message = scrub(upstream_error_message(status, content), secrets)
    error: dict[str, Any] = {}
    try:
        payload = orjson.loads(content)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
    except orjson.JSONDecodeError:
        pass

    def field(name: str) -> str | None:
        value = error.get(name)
        return scrub(value, secrets) if isinstance(value, str) else None

    return error_body(status, message, code=field("code"), param=field("param"), type=field("type"))


async def _send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    if status >= 400:
        headers = [(name, value) for name, value in headers if name != b"content-type"]
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
