"""Instructions per request and per stream, counted by callgrind (BENCH_INSTRUCTIONS=0 skips).

CPU time on a shared machine moves by a factor of two between runs of the same code; an
instruction count does not: the same code, inputs and hash seed give the same count within
a fraction of a percent. So a change too small to show in the CPU figures shows here.

The floor and a one-worker Tollgate each run under `valgrind --tool=callgrind` with counting
off; it is turned on (`callgrind_control -i on`) only for the measured requests, after a
warm-up, and the counts are dumped per scenario. Both run with PYTHONHASHSEED=0 (dict and set
layouts, hence counts, otherwise differ from run to run). In Tollgate, usage records are
queued as always but written after the count, the check for admin changes and the channel
prober are off, and garbage is collected by Python's own thresholds as in the floor
(TOLLGATE_MANAGE_GC=0): what is counted is the request's own path. The records' database
writes and the timers' work are in the CPU figures; kernel work (system calls) is in neither
count, so these ratios are not the CPU ratios.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.client import BenchError, Client
from bench.load import CHAT_PATH, chat_body, warm_up
from bench.procs import (
    HOST,
    MODEL,
    SPENDING_LIMITED,
    UPSTREAM_KEY,
    SetupError,
    start_bare_relay,
    start_floor,
)
from bench.upstream import STREAM_CHUNKS, paced_model

if TYPE_CHECKING:
    from bench.results import Config

REQUESTS = 300
STREAMS = 30
# Long enough that each chunk arrives on its own even under callgrind's slowdown (the
# fake upstream runs at full speed).
STREAM_GAP_MS = 20.0
SAME_RUN_ENV = {"PYTHONHASHSEED": "0"}
BARE_RELAYS = ("httpx", "aiohttp")  # bench/bare_relay.py
TOLLGATE_ENV = {
    **SAME_RUN_ENV,
    "TOLLGATE_USAGE_FLUSH_SECONDS": "3600",
    "TOLLGATE_RELAY_REFRESH_SECONDS": "3600",
    # Python's own collections, as in the floor: the relay's timed full collection (every
    # 30 s when quiet) falls inside a count or not by the clock, and moved it by 2-3 %.
    "TOLLGATE_MANAGE_GC": "0",
    # The channel prober's tick (every 7.5 s, its queries on the relay's thread pool) fell
    # inside a count or not by the clock too. When a tick still took the prober's lock, that
    # moved a count of 5 ms-paced streams by about 10,000 instructions a chunk and a count
    # of requests by 3 %.
    "TOLLGATE_PROBER": "0",
}


@dataclass
class Counted:
    """Instructions per non-streamed request and per stream, for one target."""

    request: float = 0.0
    stream: float = 0.0
    # Tollgate only: a non-streamed request of a token with a quota and budgets.
    spending_request: float = 0.0
    # A non-streamed request through each bare relay on Tollgate's server (bench/bare_relay.py):
    # with httpx over httpx-aiohttp as Tollgate calls upstreams, and with aiohttp's client.
    bare_httpx_request: float = 0.0
    bare_aiohttp_request: float = 0.0


def tools() -> tuple[str, str] | None:
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    return (valgrind, control) if valgrind and control else None


def callgrind_prefix(valgrind: str, out: Path, name: str) -> list[str]:
    return [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--trace-children=yes",
        "--dump-line=no",
        f"--callgrind-out-file={out / name}.%p",
    ]


_TRIGGER = re.compile(r"^desc: Trigger: dump (\S+)\s*$", re.M)
# "totals", not "summary": after a dump zeroes the counters, callgrind 3.19 can write a
# summary that has wrapped below zero.
_TOTAL = re.compile(r"^totals: (\d+)", re.M)


def dumped_totals(out: Path, name: str) -> dict[str, int]:
    """Each dump's tag (callgrind_control -d TAG) -> its instruction total."""
    totals: dict[str, int] = {}
    for path in out.glob(f"{name}.*"):
        text = path.read_text(errors="replace")
        trigger, total = _TRIGGER.search(text), _TOTAL.search(text)
        if trigger and total:
            totals[trigger.group(1)] = totals.get(trigger.group(1), 0) + int(total.group(1))
    return totals


def _control(control: str, pid: int, *args: str) -> None:
    result = subprocess.run(
        [control, *args, str(pid)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"callgrind_control {' '.join(args)} failed: {result.stderr.strip()}")


async def _requests(port: int, authorization: str, count: int, *, stream: bool) -> None:
    model = paced_model(STREAM_GAP_MS) if stream else MODEL
    body = chat_body(model, stream=stream)
    client = Client(HOST, port)
    try:
        for _ in range(count):
            response = await client.post(CHAT_PATH, body, authorization)
            if response.status != 200:
                raise BenchError(f"HTTP {response.status}: {response.body[:300]!r}")
            if stream and response.body.count(b"data: ") != STREAM_CHUNKS + 1:
                raise BenchError(f"stream cut short: {response.body[-300:]!r}")
    finally:
        client.close()


def count(control: str, pid: int, port: int, authorization: str, *, streams: bool = True) -> None:
    """Warm up, then count REQUESTS requests and STREAMS streams in dumps of their own."""
    asyncio.run(warm_up(port, MODEL, authorization, 50))
    scenarios = [("requests", REQUESTS, False), ("streams", STREAMS, True)]
    for tag, number, stream in scenarios if streams else scenarios[:1]:
        _control(control, pid, "-i", "on")
        asyncio.run(_requests(port, authorization, number, stream=stream))
        _control(control, pid, "-d", tag)
        _control(control, pid, "-i", "off")


def per_unit(totals: dict[str, int], *, streams: bool = True) -> Counted:
    if "requests" not in totals or (streams and "streams" not in totals):
        raise BenchError(f"callgrind wrote no count for every scenario (found {sorted(totals)})")
    return Counted(totals["requests"] / REQUESTS, totals["streams"] / STREAMS if streams else 0.0)


def bench_instructions(
    stack: ExitStack, work: Path, upstream_port: int, config: Config
) -> tuple[Counted, Counted] | str:
    """(floor, Tollgate), or why there are no counts."""
    from bench.run import Gateway  # run.py imports this module

    found = tools()
    if found is None:
        return "valgrind is not installed (Debian: apt-get install valgrind): no counts"
    valgrind, control = found
    out = work / "callgrind"
    out.mkdir(exist_ok=True)
    try:
        floor, port = start_floor(
            work,
            upstream_port,
            wrap=callgrind_prefix(valgrind, out, "floor"),
            env=SAME_RUN_ENV,
        )
        stack.callback(floor.stop)
        count(control, floor.pid, port, f"Bearer {UPSTREAM_KEY}")
        floor.stop()
        gateway = Gateway(
            stack,
            work,
            upstream_port,
            config,
            extra_env=TOLLGATE_ENV,
            wrap=callgrind_prefix(valgrind, out, "tollgate"),
        )
        count(control, gateway.workers[0], gateway.port, f"Bearer {gateway.token}")
        gateway.stop()
        spending = Gateway(
            stack,
            work,
            upstream_port,
            config,
            extra_env=TOLLGATE_ENV,
            wrap=callgrind_prefix(valgrind, out, "spending"),
            limits=SPENDING_LIMITED,
        )
        token = f"Bearer {spending.token}"
        count(control, spending.workers[0], spending.port, token, streams=False)
        spending.stop()
        for kind in BARE_RELAYS:
            bare, port = start_bare_relay(
                work,
                upstream_port,
                kind,
                wrap=callgrind_prefix(valgrind, out, f"bare-{kind}"),
                env=SAME_RUN_ENV,
            )
            stack.callback(bare.stop)
            count(control, bare.pid, port, f"Bearer {UPSTREAM_KEY}", streams=False)
            bare.stop()
        tollgate = per_unit(dumped_totals(out, "tollgate"))
        tollgate.spending_request = per_unit(dumped_totals(out, "spending"), streams=False).request
        tollgate.bare_httpx_request, tollgate.bare_aiohttp_request = (
            per_unit(dumped_totals(out, f"bare-{kind}"), streams=False).request
            for kind in BARE_RELAYS
        )
        return per_unit(dumped_totals(out, "floor")), tollgate
    except (SetupError, BenchError, OSError, subprocess.TimeoutExpired) as exc:
        return f"counting failed: {exc}"


def render(result: tuple[Counted, Counted] | str) -> str:
    head = "Instructions counted by callgrind (user space; the same on every run of the same code):"
    if isinstance(result, str):
        return f"{head}\n\n{result}\n"
    floor, tollgate = result
    rows = [
        ("non-streamed request, c=1", floor.request, tollgate.request),
        (
            f"{STREAM_CHUNKS}-chunk stream, c=1, {STREAM_GAP_MS:g} ms pauses",
            floor.stream,
            tollgate.stream,
        ),
    ]
    extra_requests = [
        ("non-streamed request, c=1, token with a quota and budgets", tollgate.spending_request),
        (
            "non-streamed request, c=1, bare relay on Tollgate's stack (uvicorn; httpx over "
            "httpx-aiohttp)",
            tollgate.bare_httpx_request,
        ),
        (
            "non-streamed request, c=1, bare relay on uvicorn and aiohttp's client",
            tollgate.bare_aiohttp_request,
        ),
    ]
    for place, (name, counted) in enumerate((row for row in extra_requests if row[1]), 1):
        rows.insert(place, (name, floor.request, counted))
    lines = [
        head,
        "",
        "| per request or stream | floor | counted | counted / floor |",
        "|---|---:|---:|---:|",
    ]
    for name, low, high in rows:
        ratio = f"{high / low:.2f}x" if low else "—"
        lines.append(f"| {name} | {low:,.0f} | {high:,.0f} | {ratio} |")
    lines += [
        "",
        f"{REQUESTS} requests and {STREAMS} streams each, after a warm-up, with "
        "PYTHONHASHSEED=0. Tollgate's count is the request's own path: its usage record is "
        "queued but written after the count, the check for admin changes and the channel "
        "prober are off (all three are in the CPU figures above), and garbage is collected "
        "by Python's own thresholds, as in the floor. The kernel's work is in neither count. "
        "Tollgate's token has rate limits, as in every scenario; the quota row's token also "
        "has a quota and budgets, so each request first reserves its possible cost in the "
        "database (counted: it runs on the relay's database thread) and is settled with its "
        "usage record (not counted). The bare relays (bench/bare_relay.py) run on Tollgate's "
        "server and only relay, as the floor does: between them and the floor is what the "
        "stack costs, between them and Tollgate what the relay's own work (auth, routing, "
        "metering, rate limits) costs.",
        "",
    ]
    return "\n".join(lines)
