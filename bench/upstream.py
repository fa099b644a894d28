"""A fast fake OpenAI upstream for the benchmark: raw asyncio protocol + httptools, uvloop.

It must never be the bottleneck, so it does no JSON work per request: the bodies are built
once at start-up and the request body is only searched for two byte patterns. It checks the
Authorization header, so a gateway that forgot to swap in the channel's key fails loudly.

A stream whose request asks for `stream_options.include_usage` ends with a usage event, as
OpenAI's do (Tollgate asks for it; the bench's own requests do not).

Run as `python -m bench.upstream --key KEY [--gap-ms N]`; it binds a free port on 127.0.0.1
and prints `PORT <n>` on stdout when it is ready.

Pacing is asked for in the request body: "paced" anywhere uses --gap-ms, and a model named
`bench-model-p<ms>` (paced_model) pauses that many milliseconds between chunks. With
`-n<chunks>` too (`bench-model-p1000-n60`, the slow streams), it sends that many chunks, each
stamped with its send time (`"t<ns>"`, CLOCK_MONOTONIC, the same clock in every process of
the machine), so a client can tell what a relay added to every chunk. Paced streams wait
on asyncio timers: thousands of them open cost little.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from typing import cast

import httptools

MODEL = "bench-model"
PACED_MARKER = b"paced"
STREAM_CHUNKS = 20
_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
_PACING = re.compile(rb'"bench-model-p([0-9.]+)(?:-n([0-9]+))?"')
_INCLUDE_USAGE = re.compile(rb'"include_usage"\s*:\s*true')


def paced_model(gap_ms: float, chunks: int | None = None) -> str:
    """The model name that asks the fake upstream for this pacing (and chunk count)."""
    name = f"{MODEL}-p{gap_ms:g}"
    return name if chunks is None else f"{name}-n{chunks}"


COMPLETION = (
    b'{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,'
    b'"model":"' + MODEL.encode() + b'","choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":"Hello from the bench upstream."},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}'
)
MODELS = b'{"object":"list","data":[{"id":"' + MODEL.encode() + b'","object":"model"}]}'
UNAUTHORIZED = b'{"error":{"message":"bad key","type":"invalid_request_error","code":"bad_key"}}'
NOT_FOUND = b'{"error":{"message":"no such route","type":"invalid_request_error","code":null}}'


def _sse_chunk(index: int) -> bytes:
    finish = b'"stop"' if index == STREAM_CHUNKS - 1 else b"null"
    event = (
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
        b'"model":"'
        + MODEL.encode()
        + b'","choices":[{"index":0,"delta":{"content":"tok'
        + str(index).encode()
        + b' "},"finish_reason":'
        + finish
        + b"}]}\n\n"
    )
    return b"%x\r\n%s\r\n" % (len(event), event)


# Each SSE event is its own HTTP chunk, written with its own transport.write (its own send()).
SSE_CHUNKS = [_sse_chunk(i) for i in range(STREAM_CHUNKS)]


def _stamped_chunk(index: int) -> bytes:
    """A slow stream's chunk: its content is the send time, read back by bench/slow.py."""
    event = (
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
        b'"model":"'
        + MODEL.encode()
        + b'","choices":[{"index":0,"delta":{"content":"t'
        + str(time.monotonic_ns()).encode()
        + b' "},"finish_reason":null}]}\n\n'
    )
    return b"%x\r\n%s\r\n" % (len(event), event)


def _usage_chunk() -> bytes:
    """The last event OpenAI sends when `stream_options.include_usage` asks for it."""
    event = (
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
        b'"model":"' + MODEL.encode() + b'","choices":[],'
        b'"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}\n\n'
    )
    return b"%x\r\n%s\r\n" % (len(event), event)


SSE_USAGE = _usage_chunk()
SSE_DONE = b"%x\r\n%s\r\n" % (len(b"data: [DONE]\n\n"), b"data: [DONE]\n\n") + b"0\r\n\r\n"


def _response(status: bytes, body: bytes, keep_alive: bool) -> bytes:
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + connection + b"\r\n" + body
    )


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self, key: bytes, gap: float) -> None:
        self.expected_auth = b"Bearer " + key
        self.gap = gap
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.auth = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports quack like asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(_response(b"400 Bad Request", b"{}", keep_alive=False))
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.auth = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.auth = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        assert transport is not None
        keep_alive = self.parser.should_keep_alive()
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if self.auth != self.expected_auth:
            transport.write(_response(b"401 Unauthorized", UNAUTHORIZED, keep_alive))
        elif method == b"POST" and path == b"/v1/chat/completions":
            body = b"".join(self.body)
            if _STREAM_TRUE.search(body):
                gap = self.gap if PACED_MARKER in body else 0.0
                chunks = 0
                pacing = _PACING.search(body)
                if pacing:
                    gap = float(pacing.group(1)) / 1000.0
                    chunks = int(pacing.group(2) or 0)
                # Usage when asked, as OpenAI reports it (a relay that asks for it reads it
                # from here rather than estimating the answer's tokens itself).
                end = SSE_USAGE + SSE_DONE if _INCLUDE_USAGE.search(body) else SSE_DONE
                if gap or chunks:
                    # No pipelining while the paced stream is being written.
                    transport.pause_reading()
                    paced = self._paced(keep_alive, gap, chunks, end)
                    asyncio.get_running_loop().create_task(paced)
                    return
                self._stream_head(keep_alive)
                for chunk in SSE_CHUNKS:
                    transport.write(chunk)
                transport.write(end)
            else:
                transport.write(_response(b"200 OK", COMPLETION, keep_alive))
        elif method == b"GET" and path == b"/v1/models":
            transport.write(_response(b"200 OK", MODELS, keep_alive))
        else:
            transport.write(_response(b"404 Not Found", NOT_FOUND, keep_alive))
        if not keep_alive:
            transport.close()

    def _stream_head(self, keep_alive: bool) -> None:
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n"
            + (b"" if keep_alive else b"Connection: close\r\n")
            + b"\r\n"
        )

    async def _paced(self, keep_alive: bool, gap: float, stamped: int, end: bytes) -> None:
        """`stamped` > 0: that many chunks stamped with their send time, else SSE_CHUNKS."""
        transport = self.transport
        assert transport is not None
        self._stream_head(keep_alive)
        for index in range(stamped or len(SSE_CHUNKS)):
            if transport.is_closing():
                return
            transport.write(_stamped_chunk(index) if stamped else SSE_CHUNKS[index])
            if gap:
                await asyncio.sleep(gap)
        transport.write(end)
        if keep_alive:
            transport.resume_reading()
        else:
            transport.close()


async def serve(key: str, gap_ms: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(key.encode(), gap_ms / 1000.0), "127.0.0.1", 0, backlog=8192
    )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--key", required=True)
    parser.add_argument("--gap-ms", type=float, default=1.0, help="pause between paced chunks")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # still fast enough on the default loop, just less headroom
        asyncio.run(serve(args.key, args.gap_ms))
    else:
        uvloop.run(serve(args.key, args.gap_ms))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
