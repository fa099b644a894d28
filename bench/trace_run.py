"""BENCH_TRACE=1's runs: c=1 paced streams through a traced target, and what it noted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from bench.client import BenchError
from bench.load import Watch, run_streams, warm_up
from bench.procs import HOST, MODEL, UPSTREAM_KEY, Started, _start_printing_port
from bench.upstream import STREAM_CHUNKS, paced_model

TRACE_STREAMS = 150
TRACE_GAP_MS = 5.0


def start_traced_floor(work: Path, upstream_port: int) -> tuple[Started, int]:
    base = f"http://{HOST}:{upstream_port}/v1"
    args = [sys.executable, "-m", "bench.trace_floor", base, UPSTREAM_KEY]
    return _start_printing_port("floor (traced)", args, work / "floor-traced.log")


def traced_rows(port: int, authorization: str, pid: int, out: Path) -> list[dict[str, int]]:
    """Warms the target up, runs the c=1 streams, and reads back what its hooks noted."""
    asyncio.run(warm_up(port, MODEL, authorization, 200))
    asyncio.run(
        run_streams(
            port,
            paced_model(TRACE_GAP_MS),
            authorization,
            count=TRACE_STREAMS,
            chunks=STREAM_CHUNKS,
            watch=Watch({}),
        )
    )
    path = out / f"trace-{pid}.json"
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline:
            raise BenchError(f"process {pid} wrote no trace (is it running with the hooks?)")
        time.sleep(0.05)
    rows: list[dict[str, int]] = json.loads(path.read_text())
    return rows
