"""A fake OpenAI-compatible upstream: a real HTTP server on 127.0.0.1 that records requests.

It answers like OpenAI: chat completions (JSON or SSE), completions, embeddings, models, and
echoes any other POST (JSON or multipart) so tests can see exactly what the gateway forwarded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.upstream_parts import (
    TOOL_ANSWER,
    ServedUpstream,
    chat_chunk,
    chat_completion,
    payload_has_tool_result,
    read_body,
    running,
    send_whole,
    sse_event,
    text_event,
    tool_call_chunks,
    tool_call_completion,
    wants_tool_call,
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""
    raw_path: str = ""  # as sent, before the server decoded it
    peer: tuple[str, int] | None = None  # the gateway's end of the connection it came on

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeUpstream(ServedUpstream):
    name: str = "upstream"
    api_key: str = "sk-upstream-test-key-0123456789abcdef"
    # More keys it takes besides api_key (a provider account with several keys).
    other_keys: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: ["gpt-4o-mini", "text-embedding-3-small"])
    stream_chunks: int = 3
    # (status, JSON body) to answer every request with instead of a success; a bytes body
    # goes out as plain text.
    fail_with: tuple[int, Any] | None = None
    # A request whose body holds this is refused with 401 although the key is right, the
    # way an upstream refuses something in the request itself; the channel test passes.
    refuse_marker: str | None = None
    # Raw chunks a streamed chat completion sends instead of its usual events.
    stream_script: list[bytes] | None = None
    # A non-streamed chat completion promises more bytes than it sends, then hangs up.
    truncate: bool = False
    # Sent with every JSON answer (to see what the gateway passes on).
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    # When set, a stream sends its first chunk, then waits for this before the rest.
    hold_stream: threading.Event | None = None
    requests: list[Recorded] = field(default_factory=list)
    stream_finished: threading.Event = field(default_factory=threading.Event)
    client_disconnected: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        raw_path = scope.get("raw_path", b"").decode("latin-1")
        client = scope.get("client")
        self.requests.append(
            Recorded(
                scope["method"],
                scope["path"],
                headers,
                body,
                query,
                raw_path,
                None if client is None else (client[0], client[1]),
            )
        )

        for account_header in ("openai-organization", "openai-project"):
            if account_header in headers:
                # Like OpenAI: a key is refused for an organisation or project it is not in.
                await _json(
                    send,
                    401,
                    {
                        "error": {
                            "message": f"No such organization: {headers[account_header]}.",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "invalid_organization",
                        }
                    },
                )
                return
        if self.refuse_marker is not None and self.refuse_marker.encode() in body:
            await _json(
                send,
                401,
                {"error": {"message": "Refused.", "type": "invalid_request_error", "code": None}},
            )
            return
        accepted = {f"Bearer {key}" for key in (self.api_key, *self.other_keys)}
        if headers.get("authorization") not in accepted:
            given = headers.get("authorization", "")
            # Like some real upstreams, echo what was sent: the gateway must scrub it.
            await _json(
                send,
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {given} at {self.v1}",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        if self.fail_with is not None:
            status, payload = self.fail_with
            if isinstance(payload, bytes):
                headers = [(b"content-type", b"text/plain"), *self.extra_headers]
                await send_whole(send, status, payload, headers)
            else:
                await _json(send, status, payload, self.extra_headers)
            return

        path = scope["path"]
        if scope["method"] == "GET" and path == "/v1/models":
            await _json(
                send,
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 1700000000, "owned_by": self.name}
                        for m in self.models
                    ],
                },
            )
            return
        is_json = headers.get("content-type", "").startswith("application/json")
        payload = json.loads(body) if is_json and body else {}
        model = payload.get("model", "")
        if path == "/v1/chat/completions" and payload.get("stream"):
            if self.stream_script is not None:
                await self._send_script(send, self.stream_script)
            else:
                await self._stream_chat(send, receive, model, payload)
        elif path == "/v1/chat/completions" and self.truncate:
            await _truncated(send)
        elif path == "/v1/chat/completions" and wants_tool_call(payload):
            await _json(send, 200, tool_call_completion(model), self.extra_headers)
        elif path == "/v1/chat/completions":
            text = TOOL_ANSWER if payload_has_tool_result(payload) else f"hello from {self.name}"
            answer = chat_completion("chatcmpl-1", model, text)
            await _json(send, 200, answer, self.extra_headers)
        elif path == "/v1/completions":
            await _json(
                send,
                200,
                {
                    "id": "cmpl-1",
                    "object": "text_completion",
                    "created": 1700000000,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "text": f"completed by {self.name}",
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
                },
            )
        elif path == "/v1/embeddings":
            inputs = payload.get("input")
            count = len(inputs) if isinstance(inputs, list) else 1
            await _json(
                send,
                200,
                {
                    "object": "list",
                    "model": model,
                    "data": [
                        {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                        for i in range(count)
                    ],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2},
                },
            )
        else:
            await _json(
                send,
                200,
                {
                    "echo_path": path,
                    "model": model,
                    "content_type": headers.get("content-type"),
                    "body_bytes": len(body),
                    "upstream": self.name,
                },
            )

    async def _send_script(self, send: Any, chunks: list[bytes]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for chunk in chunks:
            await send({"type": "http.response.body", "more_body": True, "body": chunk})
        await send({"type": "http.response.body", "body": b""})
        self.stream_finished.set()

    async def _stream_chat(self, send: Any, receive: Any, model: str, payload: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        if wants_tool_call(payload):
            for event in tool_call_chunks(model):
                await send({"type": "http.response.body", "more_body": True, "body": event})
        if payload_has_tool_result(payload):
            answer = text_event(model, TOOL_ANSWER)
            await send({"type": "http.response.body", "more_body": True, "body": answer})
        plain = not wants_tool_call(payload) and not payload_has_tool_result(payload)
        for index in range(self.stream_chunks if plain else 0):
            chunk = text_event(model, f"part{index} ")
            await send({"type": "http.response.body", "more_body": True, "body": chunk})
            if index == 0 and self.hold_stream is not None:
                released = await self._wait_for_release_or_disconnect(receive)
                if not released:
                    return
        usage = chat_chunk(model, {}, "tool_calls" if wants_tool_call(payload) else "stop")
        if (payload.get("stream_options") or {}).get("include_usage"):
            usage["usage"] = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        await send({"type": "http.response.body", "more_body": True, "body": sse_event(usage)})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
        self.stream_finished.set()

    async def _wait_for_release_or_disconnect(self, receive: Any) -> bool:
        assert self.hold_stream is not None
        released = asyncio.ensure_future(asyncio.to_thread(self.hold_stream.wait, 30))
        disconnect = asyncio.ensure_future(receive())
        done, _ = await asyncio.wait({released, disconnect}, return_when=asyncio.FIRST_COMPLETED)
        if disconnect in done:
            self.client_disconnected.set()
            self.hold_stream.set()  # lets the waiting thread end
            return False
        disconnect.cancel()
        return True


async def _json(
    send: Any, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        # What real upstreams send that says too much about a channel's account.
        (b"openai-organization", b"org-upstream-secret"),
        (b"set-cookie", b"__cf_bm=upstream-cookie; path=/"),
        (b"x-ratelimit-remaining-requests", b"4999"),
        (b"openai-processing-ms", b"12"),
        *(extra or []),
    ]
    await send_whole(send, status, json.dumps(payload).encode(), headers)


async def _truncated(send: Any) -> None:
    body = b'{"id": "chatcmpl-cut", "object": "chat.completion", "choices": ['
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body) + 500).encode()),
            ],
        }
    )
    # Returning with the body unfinished makes the server drop the connection.
    await send({"type": "http.response.body", "body": body, "more_body": True})


@contextmanager
def running_upstream(**options: Any) -> Iterator[FakeUpstream]:
    with running(FakeUpstream(**options)) as upstream:
        yield upstream
