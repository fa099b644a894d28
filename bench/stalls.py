"""Optional (BENCH_STALLS=1): what holds up the worker's event loop during the slow streams.

A heartbeat on the loop notes the time every millisecond; a watcher thread looks every 2 ms
and, when the heartbeat is more than THRESHOLD_S late, takes the loop thread's stack at that
moment (the code that holds the loop, as a rule) and, once the heartbeat comes back, the
stall's length. A stall inside a garbage collection is marked as such: the stack then shows
where the collection happened to start, not what it walked.

The bench's worker runs it from bench/stall_gunicorn.py, started once uvicorn's startup is
over (the relay's lifespan included); SIGUSR2 writes what it noted as JSON to
BENCH_STALLS_OUT's directory. The heartbeat costs a little CPU (a callback a millisecond):
the slow streams' figures of a run with BENCH_STALLS=1 are not quite the same scenario.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BEAT_S = 0.001
POLL_S = 0.002
THRESHOLD_S = 0.015
FRAMES = 8  # innermost frames kept per stall


class LoopStalls:
    """Stalls of one event loop, seen from a thread of its own."""

    def __init__(self, threshold_s: float = THRESHOLD_S, beat_s: float = BEAT_S) -> None:
        self.threshold_s = threshold_s
        self.beat_s = beat_s
        self.stalls: list[dict[str, Any]] = []
        self._last = time.monotonic()
        self._loop_thread = 0
        self._in_gc = False
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="loop-stalls", daemon=True)
        self._handle: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the loop's own thread."""
        self._loop_thread = threading.get_ident()
        self._beat(loop)
        gc.callbacks.append(self._gc_phase)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        self._watcher.join()
        if self._handle is not None:
            self._handle.cancel()
        gc.callbacks.remove(self._gc_phase)

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        self._last = time.monotonic()
        self._handle = loop.call_later(self.beat_s, self._beat, loop)

    def _gc_phase(self, phase: str, info: dict[str, Any]) -> None:
        self._in_gc = phase == "start"

    def _watch(self) -> None:
        held: dict[str, Any] | None = None  # the stall under way
        before = 0.0  # the last beat before it
        while not self._stop.wait(POLL_S):
            if held is not None:
                if self._last == before:
                    continue
                self._record(held, before)
                held = None
            last = self._last
            if time.monotonic() - last - self.beat_s > self.threshold_s:
                held, before = {"at": last, "gc": self._in_gc, "stack": self._stack()}, last
        # A stall that ended after the last look is still counted; one still under way is not.
        if held is not None and self._last != before:
            self._record(held, before)

    def _record(self, held: dict[str, Any], before: float) -> None:
        """The stall ended with the first beat after `before`: its length is the gap."""
        held["ms"] = round((self._last - before - self.beat_s) * 1000, 1)
        self.stalls.append(held)

    def _stack(self) -> list[str]:
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None:
            return []
        return [
            f"{_short(entry.filename)}:{entry.lineno} {entry.name}"
            for entry in traceback.extract_stack(frame)[-FRAMES:]
        ]


def _short(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if "/lib/python3" in filename:  # the standard library: lib/python3.11/asyncio/x.py
        return filename.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return os.path.relpath(filename) if filename.startswith("/") else filename


# The innermost frame when no Python code runs on the loop's thread: the loop is in its own
# (uvloop's C) code, or the process waits for a CPU.
_LOOP_ITSELF = "asyncio/runners.py"


@contextmanager
def watching(loop: asyncio.AbstractEventLoop, **kwargs: float) -> Iterator[LoopStalls]:
    stalls = LoopStalls(**kwargs)
    stalls.start(loop)
    try:
        yield stalls
    finally:
        stalls.stop()


def install(directory: Path) -> LoopStalls:
    """In a worker before it serves: watch its loop once uvicorn's startup is over."""
    from uvicorn.server import Server

    stalls = LoopStalls()
    original = Server.startup

    async def startup(self: Server, *args: Any, **kwargs: Any) -> None:
        await original(self, *args, **kwargs)
        stalls.start(asyncio.get_running_loop())

    Server.startup = startup  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR2, lambda *_: dump(stalls, directory))
    return stalls


def dump(stalls: LoopStalls, directory: Path) -> Path:
    path = directory / f"stalls-{os.getpid()}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(list(stalls.stalls)))
    partial.replace(path)  # whole or not there: the bench reads it once it appears
    return path


def render(stalls: list[dict[str, Any]], seconds: float, longest: int = 5) -> str:
    head = (
        f"Event-loop stalls in the worker over {THRESHOLD_S * 1000:.0f} ms during the slow "
        f"streams (BENCH_STALLS=1; {seconds:.0f} s of streams, and the worker's start and "
        "warm-up before them):"
    )
    if not stalls:
        return f"{head} none."
    in_gc = sum(1 for stall in stalls if stall["gc"])
    worst = sorted(stalls, key=lambda stall: -stall["ms"])[:longest]
    lines = [
        f"{head} {len(stalls)}, {in_gc} of them in a garbage collection; the longest "
        f"{worst[0]['ms']:.1f} ms. The {len(worst)} longest, with the loop thread's innermost "
        "frames when the watcher saw it held:",
        "",
    ]
    for stall in worst:
        where = " (in a garbage collection)" if stall["gc"] else ""
        lines.append(f"- {stall['ms']:.1f} ms{where}:")
        lines += [f"    {frame}" for frame in stall["stack"]] or ["    (no stack)"]
    if any(stall["stack"] and _LOOP_ITSELF in stall["stack"][-1] for stall in worst):
        lines += [
            "",
            f"A stack that ends in {_LOOP_ITSELF} had no Python code running on the loop's "
            "thread: the loop was in its own (uvloop's) code, or the process waited for a CPU.",
        ]
    return "\n".join(lines)
