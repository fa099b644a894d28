"""Bare relays on Tollgate's server, to split what Tollgate adds to the floor into the stack's
share and the relay's own (bench/instructions.py counts them).

Each is a plain ASGI app served by uvicorn with httptools and uvloop, as Tollgate's workers
are, and does what the floor does and nothing more: POST /v1/<path> goes to one upstream with
one key, the answer comes back chunk by chunk as it arrives. No auth, routing or metering.
- `httpx`: the upstream call as the stack decides it, httpx's request and response over
  httpx-aiohttp's transport (one per process, as Tollgate's relay keeps), read with httpx's
  own `aread` (a whole answer) and `aiter_raw` (a stream);
- `aiohttp`: aiohttp's client called directly, read with `iter_any`, as the floor does.

Run as `python -m bench.bare_relay {httpx,aiohttp} UPSTREAM_BASE KEY`; it binds a free port on
127.0.0.1 and prints `PORT <n>` on stdout when it is ready.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import uvicorn
from httpx_aiohttp import AiohttpTransport

Send = Callable[[dict[str, Any]], Awaitable[None]]
# The timeouts Tollgate's relay passes with each request (gateway/relay/forward.py).
TIMEOUTS = {"connect": 10.0, "read": None, "write": 60.0, "pool": None}


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def start(send: Send, status: int, content_type: str, length: int | None = None) -> None:
    headers = [(b"content-type", content_type.encode("latin-1"))]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def answer_whole(send: Send, status: int, content_type: str, body: bytes) -> None:
    """As the floor answers what is not a stream: at once, with its length."""
    await start(send, status, content_type, len(body))
    await send({"type": "http.response.body", "body": body})


def httpx_relay(upstream: str, key: bytes) -> Any:
    transport = AiohttpTransport(
        client=lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    )
    urls: dict[str, httpx.URL] = {}  # parsed once per path, as Tollgate caches channels' URLs

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path = scope["path"]
        url = urls.get(path) or urls.setdefault(path, httpx.URL(upstream + path[len("/v1") :]))
        request = httpx.Request(
            scope["method"],
            url,
            headers=[(b"content-type", b"application/json"), (b"authorization", key)],
            stream=httpx.ByteStream(body),
            extensions={"timeout": TIMEOUTS},
        )
        request.read()
        response = await transport.handle_async_request(request)
        try:
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                body = await response.aread()
                await answer_whole(send, response.status_code, content_type, body)
                return
            await start(send, response.status_code, content_type)
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    return app


def aiohttp_relay(upstream: str, key: bytes) -> Any:
    sessions: list[aiohttp.ClientSession] = []

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        if not sessions:
            sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))
        body = await read_body(receive)
        url = upstream + scope["path"][len("/v1") :]
        headers = {"content-type": "application/json", "authorization": key.decode()}
        async with sessions[0].request(scope["method"], url, data=body, headers=headers) as up:
            content_type = up.headers.get("Content-Type", "")
            if not content_type.startswith("text/event-stream"):
                await answer_whole(send, up.status, content_type, await up.read())
                return
            await start(send, up.status, content_type)
            async for chunk in up.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


RELAYS = {"httpx": httpx_relay, "aiohttp": aiohttp_relay}


async def serve(kind: str, upstream: str, key: str) -> None:
    app = RELAYS[kind](upstream.rstrip("/"), f"Bearer {key}".encode())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http="httptools", loop="none", lifespan="off", access_log=False, log_level="warning"
    )
    await _Server(config).serve(sockets=[sock])


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        assert sockets
        print(f"PORT {sockets[0].getsockname()[1]}", flush=True)  # listening now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=sorted(RELAYS))
    parser.add_argument("upstream")
    parser.add_argument("key")
    args = parser.parse_args()
    import uvloop

    uvloop.run(serve(args.kind, args.upstream, args.key))


if __name__ == "__main__":
    main()
