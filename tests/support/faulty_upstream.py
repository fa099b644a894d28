"""An upstream that misbehaves on purpose: a real HTTP server on 127.0.0.1, a free port.

Its `mode` says how it answers every request (switch it while it runs):
- "ok": a normal chat completion (JSON, or SSE ending in `[DONE]` when streamed);
- "html": 200 with an HTML page (a captive portal), the key it was sent inside it;
- "not_json": 200 `application/json` whose body is not JSON;
- "status": `status` with `body` (JSON or bytes) and `headers`;
- "hang": never answers; the request ends when the gateway hangs up (`hung_up` is set);
- "stall": a stream that sends two events, then nothing, until the gateway hangs up.
Every failure echoes the key and the address it was reached at (body and a header), the way
careless real upstreams do: the gateway must keep both from its clients and its log.
Nothing here sleeps: a hang or stall waits for the gateway to disconnect.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.upstream_parts import (
    ServedUpstream,
    chat_completion,
    read_body,
    running,
    send_whole,
    text_event,
)

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e"


@dataclass
class FaultyUpstream(ServedUpstream):
    name: str = "faulty"
    api_key: str = CANARY_KEY
    models: list[str] = field(default_factory=lambda: ["gpt-4o-mini"])
    mode: str = "ok"
    status: int = 500
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Requests seen (method, path, parsed JSON body or None), in order.
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    hung_up: threading.Event = field(default_factory=threading.Event)

    @property
    def hostport(self) -> str:
        return self.base_url.split("//", 1)[1]

    @property
    def port(self) -> str:
        return self.hostport.rsplit(":", 1)[1]

    def answer(self, mode: str, status: int = 500, body: Any = None, **headers: str) -> None:
        self.mode, self.status, self.body = mode, status, body
        self.headers = [(name.replace("_", "-"), value) for name, value in headers.items()]

    def request_count(self, path: str = "/v1/chat/completions") -> int:
        return sum(1 for _, seen, _ in self.requests if seen == path)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        self.requests.append((scope["method"], scope["path"], payload))
        self.got_request.set()
        sent_key = dict(scope["headers"]).get(b"authorization", b"").decode()
        echo = f"{sent_key} via {self.v1} (port {self.port})"
        streamed = isinstance(payload, dict) and bool(payload.get("stream"))
        mode = self.mode
        if mode == "ok":
            await self._ok(send, streamed, payload)
        elif mode == "html":
            page = f"<html><body><h1>Proxy login</h1><p>{echo}</p></body></html>".encode()
            await _send(send, 200, page, [("content-type", "text/html; charset=utf-8")], echo)
        elif mode == "not_json":
            await _send(
                send, 200, f"oops {echo}".encode(), [("content-type", "application/json")], echo
            )
        elif mode == "status":
            await self._status(send, echo)
        elif mode == "hang":
            await self._until_hung_up(receive)
        elif mode == "stall":
            await _start(send, 200, [("content-type", "text/event-stream")], echo)
            for index in range(2):
                event = text_event("gpt-4o-mini", f"part{index} {echo}")
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await self._until_hung_up(receive)
        else:
            raise AssertionError(f"unknown mode {mode}")

    async def _until_hung_up(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.hung_up.set()

    async def _status(self, send: Any, echo: str) -> None:
        body = self.body
        if body is None:
            body = {"error": {"message": f"upstream exploded: {echo}", "type": "server_error"}}
        if isinstance(body, bytes):
            content, kind = body, "text/plain"
        else:
            content = json.dumps(body).replace("{echo}", echo).encode()
            kind = "application/json"
        await _send(send, self.status, content, [("content-type", kind), *self.headers], echo)

    async def _ok(self, send: Any, streamed: bool, payload: Any) -> None:
        model = payload.get("model", "") if isinstance(payload, dict) else ""
        if streamed:
            await _start(send, 200, [("content-type", "text/event-stream")], None)
            for index in range(2):
                event = text_event("gpt-4o-mini", f"part{index} ")
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
            return
        answer = chat_completion("chatcmpl-f", model, f"hello from {self.name}")
        await _send(
            send, 200, json.dumps(answer).encode(), [("content-type", "application/json")], None
        )


def _encoded(headers: list[tuple[str, str]], echo: str | None) -> list[tuple[bytes, bytes]]:
    raw = [(name.encode(), value.encode()) for name, value in headers]
    if echo is not None:
        raw.append((b"x-upstream-debug", echo.encode()))
    return raw


async def _start(send: Any, status: int, headers: list[tuple[str, str]], echo: str | None) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": _encoded(headers, echo)}
    )


async def _send(
    send: Any, status: int, body: bytes, headers: list[tuple[str, str]], echo: str | None
) -> None:
    await send_whole(send, status, body, _encoded(headers, echo))


@contextmanager
def running_faulty_upstream(**options: Any) -> Iterator[FaultyUpstream]:
    with running(FaultyUpstream(**options)) as upstream:
        yield upstream


def drain_relay(relay: Any) -> None:
    """Wait, on the server's own loop, for the health writes and channel checks the relay
    started in the background after its last answers."""
    import asyncio

    for background in (relay.channel_health, relay.rechecks):
        loop = background.loop
        if loop is not None:
            asyncio.run_coroutine_threadsafe(background.drain(), loop).result(timeout=60)


def post_chat(base_url: str, key: str, **body: Any) -> Any:
    """POST /v1/chat/completions as plain HTTP, to see the raw answer (status, headers, body)."""
    import httpx

    return httpx.post(
        base_url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **body},
        timeout=30,
    )
