"""Sending an answer the relay has whole: the one sender, and its JSON and error forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from core.errors import ApiError, error_body
from gateway.relay.translate.errors import anthropic_error_body

Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_CONTENT_TYPE = (b"content-type", b"application/json")


async def send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Head and body in two messages, with the body's length (`headers` is extended)."""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: Any, request_id: str) -> None:
    await send_whole(send, status, _own_headers(request_id), orjson.dumps(payload))


async def send_error(send: Send, error: ApiError, request_id: str) -> None:
    """The error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""
    body = error_body(
        error.status, error.message, code=error.code, param=error.param, type=error.type
    )
    headers = _own_headers(request_id)
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send_whole(send, error.status, headers, body)


async def send_anthropic_error(send: Send, error: ApiError, request_id: str) -> None:
    """The error in Anthropic's shape: {"type": "error", "error": {"type", "message"}}."""
    headers = _own_headers(request_id)
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send_whole(send, error.status, headers, anthropic_error_body(error.status, error.message))


def _own_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    return [JSON_CONTENT_TYPE, (b"x-request-id", request_id.encode())]
