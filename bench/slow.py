"""Thousands of slow streams open at once through one target (the slow-stream scenario).

Each stream asks the fake upstream for `chunks` chunks one `gap` apart, each stamped with its
send time (bench/upstream.py); one raw asyncio connection per stream, so the client costs
little next to the relay. Per stream it records the time from the request's write to the
first chunk, and for every later chunk the delay between the upstream's send and the arrival
here: what the relay added, measured against the upstream's own schedule.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import cast

import httptools

from bench.load import CHAT_PATH, chat_body, quantile
from bench.procs import HOST, cpu_seconds, self_cpu_seconds

_STAMP = re.compile(rb'"content":"t(\d+) "')
CONNECT_AT_ONCE = 200  # connections being opened at one time at most


@dataclass
class SlowResult:
    streams: int
    chunks: int
    gap_s: float
    completed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    first_ms: list[float] = field(default_factory=list)
    # Every chunk after the first, arriving once all streams were open (the steady state
    # the targets are about), and while they were still being opened.
    added_ms: list[float] = field(default_factory=list)
    ramp_added_ms: list[float] = field(default_factory=list)
    steady_from_ns: int = 0  # when every stream had its first chunk; 0 until then
    ramp_s: float = 0.0  # until every stream had its first chunk
    wall_s: float = 0.0
    idle_kib: dict[str, int] = field(default_factory=dict)  # target's RSS/PSS before
    open_kib: dict[str, int] = field(default_factory=dict)  # with every stream open
    target_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    upstream_cpu_s: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def per_stream_kib(self, what: str) -> float | None:
        if what not in self.idle_kib or what not in self.open_kib or not self.streams:
            return None
        return (self.open_kib[what] - self.idle_kib[what]) / self.streams

    def first_p(self, q: float) -> float | None:
        return quantile(self.first_ms, q) if self.first_ms else None

    def added_p(self, q: float, *, ramp: bool = False) -> float | None:
        values = self.ramp_added_ms if ramp else self.added_ms
        return quantile(values, q) if values else None


class _Stream(asyncio.Protocol):
    def __init__(self, result: SlowResult, opened: Callable[[], None]) -> None:
        self.result = result
        self.opened = opened
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.sent = 0
        self.first = 0
        self.events = 0
        self.stamps = 0
        self.tail = b""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"bad HTTP: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("connection closed mid-stream")

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status != 200:
            self._fail(f"HTTP {status}")

    def on_body(self, body: bytes) -> None:
        now = time.monotonic_ns()
        if not self.first:
            self.first = now
            self.result.first_ms.append((now - self.sent) / 1e6)
            self.opened()
        data = self.tail + body
        cut = data.rfind(b"\n\n") + 2
        self.tail = data[cut:]
        complete = data[:cut]
        self.events += complete.count(b"data: ")
        for match in _STAMP.finditer(complete):
            self.stamps += 1
            if self.stamps > 1:  # the first chunk is timed from the request instead
                result = self.result
                steady = result.steady_from_ns and now >= result.steady_from_ns
                added = result.added_ms if steady else result.ramp_added_ms
                added.append((now - int(match.group(1))) / 1e6)

    def on_message_complete(self) -> None:
        if self.events - 1 != self.result.chunks:
            self._fail(f"{self.events - 1} chunks instead of {self.result.chunks}")
            return
        self.result.completed += 1
        if not self.done.done():
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def _fail(self, why: str) -> None:
        if self.done.done():
            return
        self.result.errors[why] = self.result.errors.get(why, 0) + 1
        self.done.set_result(None)
        if not self.first:
            self.opened()  # counted as settled, so the ramp does not wait for it
        if self.transport is not None:
            self.transport.close()


async def run_slow_streams(
    port: int,
    model: str,
    authorization: str,
    *,
    streams: int,
    chunks: int,
    gap_s: float,
    target_pids: list[int],
    upstream_pid: int,
    memory: Callable[[], dict[str, int]],
    ramp_s: float,
) -> SlowResult:
    """Opens `streams` streams evenly over `ramp_s` seconds (a burst of thousands would only
    measure the accept queue), reads the target's memory once all are open, and waits for
    them to end (bounded: ramp + chunks x gap + 60 s)."""
    result = SlowResult(streams, chunks, gap_s)
    loop = asyncio.get_running_loop()
    body = chat_body(model, stream=True)
    request = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    settled = 0
    all_open = loop.create_future()

    def opened() -> None:
        nonlocal settled
        settled += 1
        if settled == streams and not all_open.done():
            all_open.set_result(None)

    result.idle_kib = memory()
    cpu_before = [cpu_seconds(pid) for pid in target_pids]
    upstream_before = cpu_seconds(upstream_pid)
    client_before = self_cpu_seconds()
    started = time.monotonic()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    protocols: list[_Stream] = []

    async def open_one(index: int) -> None:
        await asyncio.sleep(ramp_s * index / streams)
        async with gate:
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(lambda: _Stream(result, opened), HOST, port), 30
                )
            except (OSError, TimeoutError) as exc:
                result.errors[f"connect: {exc}"] = result.errors.get(f"connect: {exc}", 0) + 1
                opened()
                return
            stream = protocol
            protocols.append(stream)
            stream.sent = time.monotonic_ns()
            assert stream.transport is not None
            stream.transport.write(request)

    bound = ramp_s + chunks * gap_s + 60
    await asyncio.gather(*(open_one(i) for i in range(streams)))
    try:
        await asyncio.wait_for(all_open, bound)
        result.ramp_s = time.monotonic() - started
        result.steady_from_ns = time.monotonic_ns()
        await asyncio.sleep(min(2.0, gap_s * 2))  # every stream past its first chunk
        result.open_kib = memory()
        pending = [p.done for p in protocols if not p.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(1.0, bound - (time.monotonic() - started)))
    except TimeoutError:
        pass
    finally:
        for protocol in protocols:
            if not protocol.done.done():
                protocol._fail("not finished in time")
    result.wall_s = time.monotonic() - started
    result.target_cpu_s = sum(cpu_seconds(p) for p in target_pids) - sum(cpu_before)
    result.upstream_cpu_s = cpu_seconds(upstream_pid) - upstream_before
    result.client_cpu_s = self_cpu_seconds() - client_before
    return result


def run(scenario: Coroutine[None, None, SlowResult]) -> SlowResult:
    """Runs the scenario on uvloop when installed: the client must not be the bottleneck."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(scenario)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(scenario)
