"""The two loads: wrk for non-streamed completions, the raw client for streams."""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.client import BenchError, Client
from bench.procs import HOST, children_cpu_seconds, cpu_seconds, self_cpu_seconds

CHAT_PATH = "/v1/chat/completions"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def chat_body(model: str, *, stream: bool) -> bytes:
    return json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Say hello."}],
            "stream": stream,
        },
        separators=(",", ":"),
    ).encode()


@dataclass
class Watched:
    """CPU seconds of the processes watched during one run, and the run's wall time."""

    wall: float
    cpu: dict[str, float]

    def percent(self, name: str) -> float:
        return 100.0 * self.cpu[name] / self.wall if self.wall else 0.0


class Watch:
    """Reads the CPU of the named processes (and of reaped children: wrk) around a run."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def __enter__(self) -> Watch:
        self.start_wall = time.monotonic()
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.start_children = children_cpu_seconds()
        self.start_self = self_cpu_seconds()
        self.result: Watched | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        cpu = {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}
        cpu["wrk"] = children_cpu_seconds() - self.start_children
        cpu["client"] = self_cpu_seconds() - self.start_self
        self.result = Watched(time.monotonic() - self.start_wall, cpu)


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str  # non-2xx responses and socket errors, empty when there were none
    watched: Watched

    def cpu_ms_per_request(self, name: str) -> float:
        return 1000.0 * self.watched.cpu[name] / self.requests if self.requests else 0.0


def write_wrk_script(path: Path, model: str, authorization: str) -> Path:
    body = chat_body(model, stream=False).decode()
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "{authorization}"\n'
    )
    return path


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk's duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, watched: Watched) -> WrkResult:
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)", output, re.M))
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (total and rps and "50" in percentiles and "99" in percentiles):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    errors = []
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors.append(f"{non_2xx.group(1)} non-2xx responses")
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        errors.append(f"socket errors: {socket_errors.group(1)}")
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_duration_ms(total.group(2) + total.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=_duration_ms(percentiles["50"]),
        p99_ms=_duration_ms(percentiles["99"]),
        errors="; ".join(errors),
        watched=watched,
    )


def run_wrk(
    port: int, script: Path, *, threads: int, connections: int, seconds: float, watch: Watch
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    args = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}{CHAT_PATH}",
    ]
    with watch:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    if result.returncode != 0:
        raise BenchError(f"wrk failed: {result.stderr.strip() or result.stdout.strip()}")
    assert watch.result is not None
    return parse_wrk(result.stdout, watch.result)


@dataclass
class StreamResult:
    count: int
    first_ms: list[float]
    total_ms: list[float]
    body_reads: float  # average socket reads with body bytes per stream
    watched: Watched

    def cpu_ms_per_stream(self, name: str) -> float:
        return 1000.0 * self.watched.cpu[name] / self.count if self.count else 0.0


def check_stream(body: bytes, model: str, chunks: int) -> None:
    events = [e for e in body.decode().split("\n\n") if e.strip()]
    if len(events) != chunks + 1 or events[-1].strip() != "data: [DONE]":
        raise BenchError(f"expected {chunks} SSE events and [DONE], got:\n{body[:600]!r}")
    for event in events[:-1]:
        if not event.startswith("data: "):
            raise BenchError(f"not an SSE data event: {event[:200]!r}")
        payload = json.loads(event[len("data: ") :])
        if payload.get("model") != model or "choices" not in payload:
            raise BenchError(f"unexpected chunk: {event[:300]!r}")


def check_completion(status: int, body: bytes, model: str) -> None:
    if status != 200:
        raise BenchError(f"HTTP {status}: {body[:600].decode(errors='replace')}")
    payload = json.loads(body)
    if payload.get("model") != model or not payload.get("choices"):
        raise BenchError(f"unexpected completion: {body[:600]!r}")


async def run_streams(
    port: int, model: str, authorization: str, *, count: int, chunks: int, watch: Watch
) -> StreamResult:
    body = chat_body(model, stream=True)
    client = Client(HOST, port)
    first: list[float] = []
    total: list[float] = []
    reads = 0
    try:
        with watch:
            for _ in range(count):
                response = await client.post(CHAT_PATH, body, authorization)
                if response.status != 200:
                    raise BenchError(
                        f"HTTP {response.status}: {response.body[:600].decode(errors='replace')}"
                    )
                # Cheap count on the hot loop; the full check runs once in check_endpoints.
                if response.body.count(b"data: ") != chunks + 1:
                    raise BenchError(f"stream cut short:\n{response.body[-300:]!r}")
                first.append(response.first_body_ns / 1e6)
                total.append(response.total_ns / 1e6)
                reads += response.body_reads
    finally:
        client.close()
    assert watch.result is not None
    return StreamResult(count, first, total, reads / count, watch.result)


async def run_concurrent_streams(
    port: int,
    model: str,
    authorization: str,
    *,
    concurrency: int,
    seconds: float,
    chunks: int,
    watch: Watch,
) -> StreamResult:
    """`concurrency` clients, each with its own keep-alive connection, streaming one after
    another for `seconds`: CPU per stream under a steady load of open streams."""
    body = chat_body(model, stream=True)
    first: list[float] = []
    total: list[float] = []
    reads = 0
    loop = asyncio.get_running_loop()

    async def one_client(end: float) -> None:
        nonlocal reads
        client = Client(HOST, port)
        try:
            while loop.time() < end:
                response = await client.post(CHAT_PATH, body, authorization)
                if response.status != 200 or response.body.count(b"data: ") != chunks + 1:
                    raise BenchError(f"HTTP {response.status}: {response.body[-300:]!r}")
                first.append(response.first_body_ns / 1e6)
                total.append(response.total_ns / 1e6)
                reads += response.body_reads
        finally:
            client.close()

    with watch:
        end = loop.time() + seconds
        await asyncio.gather(*(one_client(end) for _ in range(concurrency)))
    assert watch.result is not None
    count = max(1, len(first))
    return StreamResult(len(first), first, total, reads / count, watch.result)


async def check_endpoints(port: int, model: str, authorization: str, chunks: int) -> None:
    """One completion and one stream, read in full: figures for wrong answers mean nothing."""
    client = Client(HOST, port)
    try:
        what = f"a chat completion (POST {CHAT_PATH})"
        response = await client.post(CHAT_PATH, chat_body(model, stream=False), authorization)
        check_completion(response.status, response.body, model)
        what = f"a streamed chat completion (POST {CHAT_PATH}, stream=true)"
        response = await client.post(CHAT_PATH, chat_body(model, stream=True), authorization)
        if response.status != 200:
            raise BenchError(f"HTTP {response.status}: {response.body[:600]!r}")
        check_stream(response.body, model, chunks)
    except (BenchError, ValueError) as exc:
        raise BenchError(f"{what} failed: {exc}") from None
    finally:
        client.close()


async def warm_up(port: int, model: str, authorization: str, requests: int) -> None:
    client = Client(HOST, port)
    try:
        for _ in range(requests):
            await client.post(CHAT_PATH, chat_body(model, stream=False), authorization)
            await client.post(CHAT_PATH, chat_body(model, stream=True), authorization)
    finally:
        client.close()


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]
