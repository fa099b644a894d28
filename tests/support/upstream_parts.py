"""What the test upstreams (fake_upstream.py, faulty_upstream.py) share: reading a request,
OpenAI-shaped chat answers, and running one on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.support.servers import serve_asgi

CREATED = 1700000000


async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def chat_completion(answer_id: str, model: str, content: str) -> dict[str, Any]:
    return {
        "id": answer_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


# The tool-call round trip the fake upstreams play: asked with tools, they call get_weather;
# given its result, they answer with TOOL_ANSWER.
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = {"city": "Paris"}
TOOL_ANSWER = "It is sunny in Paris."


def payload_has_tool_result(payload: dict[str, Any]) -> bool:
    messages = payload.get("messages") or []
    last = messages[-1] if messages else {}
    if not isinstance(last, dict):
        return False
    if last.get("role") == "tool":
        return True
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def wants_tool_call(payload: dict[str, Any]) -> bool:
    return bool(payload.get("tools")) and not payload_has_tool_result(payload)


def tool_call_completion(model: str) -> dict[str, Any]:
    answer = chat_completion("chatcmpl-tool", model, "")
    message = answer["choices"][0]["message"]
    message["content"] = None
    message["tool_calls"] = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": TOOL_NAME, "arguments": json.dumps(TOOL_ARGUMENTS)},
        }
    ]
    answer["choices"][0]["finish_reason"] = "tool_calls"
    return answer


def tool_call_chunks(model: str) -> list[bytes]:
    """A streamed tool call: its name first, then its arguments in two pieces."""
    arguments = json.dumps(TOOL_ARGUMENTS)
    half = len(arguments) // 2
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": TOOL_NAME, "arguments": ""},
    }
    return [
        sse_event(chat_chunk(model, {"role": "assistant", "tool_calls": [first]}, None)),
        sse_event(
            chat_chunk(
                model,
                {"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]},
                None,
            )
        ),
        sse_event(
            chat_chunk(
                model,
                {"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]},
                None,
            )
        ),
    ]


def chat_chunk(model: str, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


async def send_whole(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """A complete answer: `headers`, then the body's content-length, then the body."""
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


def sse_event(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def text_event(model: str, text: str) -> bytes:
    """A streamed chat completion's event that carries `text`."""
    return sse_event(chat_chunk(model, {"content": text}, None))


@dataclass
class ServedUpstream:
    """Where a test upstream answers: `running` sets `base_url`."""

    base_url: str = ""

    @property
    def v1(self) -> str:
        return self.base_url + "/v1"


U = TypeVar("U", bound=ServedUpstream)


@contextmanager
def running(upstream: U) -> Iterator[U]:
    """Serves `upstream` on a free loopback port (its `base_url` says where) until the end."""
    with serve_asgi(upstream) as base_url:
        upstream.base_url = base_url
        yield upstream
