"""BENCH_TRACE=1's runs: c=1 paced streams through a traced target, and what it noted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.client import BenchError
from bench.load import Watch, run_streams, warm_up
from bench.procs import HOST, MODEL, UPSTREAM_KEY, Started, _start_printing_port
from bench.rounds import model_for
from bench.upstream import STREAM_CHUNKS

TRACE_STREAMS = 150
# The upstream's pauses between chunks: with them, every stage of the first chunk's way runs
# slower on both sides (the code and data it needs have left the CPU's caches meanwhile).
DEFAULT_GAPS = "0 5 20"


def trace_gaps(environ: dict[str, str] | None = None) -> list[float]:
    """BENCH_TRACE_GAPS: the pauses (ms) to trace, "0 5 20" unless told."""
    text = (os.environ if environ is None else environ).get("BENCH_TRACE_GAPS", DEFAULT_GAPS)
    try:
        gaps = sorted({float(gap) for gap in text.split()})
    except ValueError:
        gaps = []
    if not gaps or any(gap < 0 for gap in gaps):
        raise SystemExit(f"BENCH_TRACE_GAPS takes pauses in ms, like '0 5 20', not {text!r}")
    return gaps


def start_traced_floor(work: Path, upstream_port: int) -> tuple[Started, int]:
    base = f"http://{HOST}:{upstream_port}/v1"
    args = [sys.executable, "-m", "bench.trace_floor", base, UPSTREAM_KEY]
    return _start_printing_port("floor (traced)", args, work / "floor-traced.log")


def warm(port: int, authorization: str) -> None:
    asyncio.run(warm_up(port, MODEL, authorization, 200))


def client_first_us(port: int, authorization: str, gap: float) -> float:
    """The c=1 streams with the upstream pausing `gap` ms: the first chunk's median (µs) as
    the client saw it."""
    result = asyncio.run(
        run_streams(
            port,
            model_for(gap),
            authorization,
            count=TRACE_STREAMS,
            chunks=STREAM_CHUNKS,
            watch=Watch({}),
        )
    )
    return statistics.median(result.first_ms) * 1000


def noted_rows(pid: int, out: Path) -> list[dict[str, int]]:
    """What the target's hooks noted: every request so far (the caller keeps the last ones)."""
    rows: list[dict[str, int]] = signalled_json(pid, out / f"trace-{pid}.json")
    return rows


def signalled_json(pid: int, path: Path) -> Any:
    """SIGUSR2 asks `pid` to write what it noted to `path` (whole, or not there): read it."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline:
            raise BenchError(f"process {pid} wrote no {path.name} (is it running with the hooks?)")
        time.sleep(0.05)
    return json.loads(path.read_text())
