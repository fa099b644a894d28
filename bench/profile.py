"""Optional (BENCH_PROFILE=1): where the gateway worker's CPU goes, sampled with py-spy.

Runs after the measured runs, so sampling never slows the figures in the table. Writes py-spy's
collapsed stacks (one line per stack, flamegraph.pl / speedscope input) to bench/results/ and
returns a short summary: which areas the samples' stacks pass through, and the functions with
the most samples of their own.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.procs import BIN


def py_spy() -> Path | None:
    path = BIN / "py-spy"
    return path if path.exists() else None


def record(pid: int, seconds: float, out: Path, load: Callable[[], object]) -> str:
    """Samples `pid` while `load()` runs; returns a summary, or why there is none."""
    spy = py_spy()
    if spy is None:
        return "py-spy is not installed (.venv/bin/pip install py-spy)"
    sampler = subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "200",
         "--nonblocking", "--gil", "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        load()
        _, stderr = sampler.communicate(timeout=seconds + 30)
    except BaseException:
        sampler.kill()
        sampler.wait()
        raise
    if sampler.returncode != 0 or not out.exists():
        return f"py-spy failed: {stderr.decode(errors='replace').strip()[-500:]}"
    return summarize(out)


# Where a sample's stack passes through, for a coarse split of the worker's CPU.
AREAS = (
    ("upstream client (httpx, httpcore, anyio, h11)", ("httpx/", "httpcore/", "anyio/", "h11/")),
    ("response written to the client (uvicorn send)", ("RequestResponseCycle.send",)),
    ("logging (the access log included)", ("logging/",)),
    ("background threads (relay refresh, database)", ("threading.py",)),
)


def summarize(path: Path, top: int = 15) -> str:
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        # "function (file:line)" -> "function (file)": one row per function, not per line.
        leaf = stack.rsplit(";", 1)[-1]
        own[(leaf.rsplit(":", 1)[0] + ")" if ":" in leaf else leaf) or "(no name)"] += samples
        for area, needles in AREAS:
            if any(needle in stack for needle in needles):
                areas[area] += samples
        if leaf.startswith("Runner.run "):
            areas["the event loop itself (uvloop, C)"] += samples
    if not total:
        return "py-spy recorded no samples"
    split = [f"{100 * areas[name] / total:5.1f} %  {name}" for name, _ in AREAS]
    split.append(f"{100 * areas['the event loop itself (uvloop, C)'] / total:5.1f} %  "
                 "the event loop itself (uvloop, C)")  # fmt: skip
    rows = [f"{100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    return (
        f"{total} samples\nstacks passing through:\n" + "\n".join(split)
        + "\nfunctions with the most time of their own:\n" + "\n".join(rows)
    )  # fmt: skip
