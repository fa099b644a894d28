"""A fake Anthropic Messages API upstream on 127.0.0.1 that records what it was sent.

It checks `x-api-key` and `anthropic-version` as Anthropic does, answers /v1/messages whole or
as Anthropic's event stream (text, or a get_weather tool call when given tools, then the
answer once given the tool's result), /v1/messages/count_tokens and GET /v1/models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_upstream import Recorded
from tests.support.upstream_parts import (
    TOOL_ANSWER,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    ServedUpstream,
    payload_has_tool_result,
    read_body,
    running,
    send_whole,
    wants_tool_call,
)

USAGE = {"input_tokens": 12, "output_tokens": 7}
TEXT = "Hello from Claude."


@dataclass
class FakeAnthropic(ServedUpstream):
    api_key: str = "sk-ant-upstream-test-key-0123456789"
    models: list[str] = field(default_factory=lambda: ["claude-sonnet-4-5", "claude-haiku-4-5"])
    # (status, Anthropic error type) to answer every message request with instead.
    fail_with: tuple[int, str] | None = None
    requests: list[Recorded] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        self.requests.append(
            Recorded(scope["method"], path, headers, body, scope.get("query_string", b"").decode())
        )
        if headers.get("x-api-key") != self.api_key:
            await _error(send, 401, "authentication_error", "invalid x-api-key")
            return
        if "anthropic-version" not in headers:
            await _error(send, 400, "invalid_request_error", "anthropic-version header is required")
            return
        if scope["method"] == "GET" and path == "/v1/models":
            data = [
                {"id": m, "type": "model", "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models
            ]
            await _json(send, 200, {"data": data, "has_more": False})
            return
        if self.fail_with is not None:
            await _error(send, self.fail_with[0], self.fail_with[1], "the upstream says no")
            return
        payload = json.loads(body) if body else {}
        model = payload.get("model", "")
        if path == "/v1/messages/count_tokens":
            await _json(send, 200, {"input_tokens": 42})
        elif path == "/v1/messages" and payload.get("stream"):
            await _stream(send, model, payload)
        elif path == "/v1/messages":
            await _json(send, 200, message(model, payload))
        else:
            await _error(send, 404, "not_found_error", f"no route {path}")


def _blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    if wants_tool_call(payload):
        return [{"type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": TOOL_ARGUMENTS}]
    return [{"type": "text", "text": TOOL_ANSWER if payload_has_tool_result(payload) else TEXT}]


def message(model: str, payload: dict[str, Any]) -> dict[str, Any]:
    tool = wants_tool_call(payload)
    return {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(payload),
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def _stream(send: Any, model: str, payload: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    start = {**message(model, payload), "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": USAGE["input_tokens"], "output_tokens": 1}
    events = [_event("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(_blocks(payload)):
        if block["type"] == "text":
            opened = {"type": "text", "text": ""}
            words = block["text"].split(" ")
            deltas = [
                {"type": "text_delta", "text": word + (" " if n < len(words) - 1 else "")}
                for n, word in enumerate(words)
            ]
        else:
            opened = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": arguments[:5]},
                {"type": "input_json_delta", "partial_json": arguments[5:]},
            ]
        events.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opened},
            )
        )
        for delta in deltas:
            events.append(
                _event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    tool = wants_tool_call(payload)
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": USAGE["output_tokens"]},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    for event in events:
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _json(send: Any, status: int, payload: Any) -> None:
    await send_whole(
        send, status, json.dumps(payload).encode(), [(b"content-type", b"application/json")]
    )


async def _error(send: Any, status: int, kind: str, text: str) -> None:
    await _json(send, status, {"type": "error", "error": {"type": kind, "message": text}})


@contextmanager
def running_anthropic(**options: Any) -> Iterator[FakeAnthropic]:
    with running(FakeAnthropic(**options)) as upstream:
        yield upstream
