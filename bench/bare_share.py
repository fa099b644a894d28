"""Optional (BENCH_BARE=1): how much of the first chunk and of a stream's CPU is the stack's.

The bare relays of bench/bare_relay.py run on Tollgate's server and only relay, as the floor
does: one with the upstream call as the stack decides it (httpx over httpx-aiohttp), one with
aiohttp's client called directly. They face the same c=1 first-chunk series (each of
BENCH_GAPS' pauses) and c=8 streams as the main rounds, beside the upstream directly, the floor
and Tollgate, every target back to back per pause and per round. Between the floor and a bare
relay is what the server and the client library cost; between a bare relay and Tollgate, what
the relay's own work costs (auth, routing, metering, rate limits, metrics). The instruction
counts (bench/instructions.py) split a non-streamed request the same way; this splits the two
stream targets, which are times, not counts.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.client import BenchError
from bench.load import warm_up
from bench.procs import MODEL, UPSTREAM_KEY, SetupError, start_bare_relay, start_floor
from bench.report import cpu_per_stream, first_p50
from bench.results import Target
from bench.rounds import Contender, first_chunk_scenarios, say, stream_cpu_scenario

if TYPE_CHECKING:
    from bench.results import Config

DIRECT = "direct"
FLOOR = "floor"
# Every target but the upstream itself, in the order of the table's rows.
ROWS = (
    (FLOOR, "the floor (aiohttp's server and client)"),
    ("bare-httpx", "bare relay on Tollgate's stack (uvicorn; httpx over httpx-aiohttp)"),
    ("bare-aiohttp", "bare relay on uvicorn and aiohttp's client"),
    ("Tollgate", "Tollgate"),
)


@dataclass
class Measured:
    """Per round: the first chunk's median (ms) per pause and target, CPU per stream (ms)."""

    gaps: list[float]
    first: list[dict[float, dict[str, float]]] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    error: str = ""


def measure(targets: list[Contender], config: Config) -> Measured:
    """Every target through every scenario, back to back, `config.rounds` times."""
    measured = Measured(list(config.gaps))
    # The upstream's own first chunk is what the others add to; its CPU is not asked.
    relays = [target for target in targets if target.name != DIRECT]
    first_steps = first_chunk_scenarios(config)
    _, cpu_step = stream_cpu_scenario(config)
    for number in range(1, config.rounds + 1):
        say(f"bare relays: round {number} of {config.rounds}")
        results = {target.name: Target(target.name) for target in targets}
        for _, step in first_steps:
            for target in targets:
                step(target, results[target.name])
        for target in relays:
            cpu_step(target, results[target.name])
        # A target a figure is missing for (a failed series) is left out of that round.
        measured.first.append(
            {
                gap: {n: p for n, one in results.items() if (p := first_p50(one, gap)) is not None}
                for gap in config.gaps
            }
        )
        measured.cpu.append(
            {n: cpu for n, one in results.items() if (cpu := cpu_per_stream(one.c8)) is not None}
        )
    return measured


def bench_bare(
    stack: ExitStack, work: Path, upstream_port: int, upstream_pid: int, config: Config
) -> str:
    """Starts the floor, both bare relays and a Tollgate: the table, or why there is none."""
    from bench.run import Gateway  # run.py imports this module

    say("bare relays: the first chunk and a stream's CPU beside the floor and Tollgate")
    key = f"Bearer {UPSTREAM_KEY}"
    measured = Measured(list(config.gaps))
    stops: list[Callable[[], None]] = []
    try:
        targets = [Contender(DIRECT, upstream_port, key)]
        floor, port = start_floor(work, upstream_port)
        stops.append(floor.stop)
        targets.append(Contender(FLOOR, port, key, {"target": floor.pid}))
        for kind in ("httpx", "aiohttp"):
            bare, port = start_bare_relay(work, upstream_port, kind)
            stops.append(bare.stop)
            targets.append(Contender(f"bare-{kind}", port, key, {"target": bare.pid}))
        gateway = Gateway(stack, work, upstream_port, config)
        stops.append(gateway.stop)
        token = f"Bearer {gateway.token}"
        targets.append(Contender("Tollgate", gateway.port, token, {"target": gateway.workers[0]}))
        for target in targets:
            asyncio.run(warm_up(target.port, MODEL, target.authorization, 200))
        measured = measure(targets, config)
    except (SetupError, BenchError, OSError, TimeoutError) as exc:
        measured.error = str(exc) or type(exc).__name__
    finally:
        for stop in stops:
            stop()
    return render(measured)


def _ratios(values: list[float | None], floors: list[float | None]) -> list[float | None]:
    return [
        None if value is None or low is None or low <= 0 else value / low
        for value, low in zip(values, floors, strict=True)
    ]


def _ratios_beside(
    name: str, values: list[float | None], floors: list[float | None]
) -> list[float | None]:
    """Each round's ratio to the floor's figure; none for the floor's own row."""
    return [None] * len(values) if name == FLOOR else _ratios(values, floors)


def _cell(values: list[float | None], ratios: list[float | None], unit: str) -> str:
    """The round whose ratio is the median, with every round's ratio beside it (no ratios:
    the median of the values)."""
    known = [
        (ratio, value)
        for ratio, value in zip(ratios, values, strict=True)
        if ratio is not None and value is not None
    ]
    if not known:
        shown = [value for value in values if value is not None]
        return f"{statistics.median(shown):.3f} {unit}" if shown else "—"
    ordered = sorted(known, key=lambda pair: pair[0])
    ratio, value = ordered[(len(ordered) - 1) // 2]
    every = ", ".join("—" if r is None else f"{r:.2f}" for r in ratios)
    spread = f" ({every})" if len(ratios) > 1 else ""
    return f"{value:.3f} {unit}, {ratio:.2f}x{spread}"


def _added(first: dict[str, float], name: str) -> float | None:
    if name not in first or DIRECT not in first:
        return None
    return first[name] - first[DIRECT]


def render(measured: Measured) -> str:
    head = (
        "The stack's share (BENCH_BARE=1): bare relays that only relay, on Tollgate's server, "
        "beside the floor and Tollgate"
    )
    if measured.error or not measured.first:
        return f"{head}: not measured: {measured.error or 'no round finished'}\n"
    pauses = ["no pause" if not gap else f"{gap:g} ms pauses" for gap in measured.gaps]
    lines = [
        f"{head}. Each cell: the median round's figure, its ratio to the floor's, and every "
        "round's ratio.",
        "",
        "| target | "
        + " | ".join(f"first chunk added, c=1, {pause}" for pause in pauses)
        + " | CPU per stream, c=8 |",
        "|---|" + "---:|" * (len(pauses) + 1),
    ]
    for name, label in ROWS:
        cells = []
        for gap in measured.gaps:
            added = [_added(first[gap], name) for first in measured.first]
            floors = [_added(first[gap], FLOOR) for first in measured.first]
            cells.append(_cell(added, _ratios_beside(name, added, floors), "ms"))
        cpu = [rnd.get(name) for rnd in measured.cpu]
        floors = [rnd.get(FLOOR) for rnd in measured.cpu]
        cells.append(_cell(cpu, _ratios_beside(name, cpu, floors), "ms"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The first chunk's figure is its median time at c=1 minus the upstream's own; the "
        "CPU is the target process's own per 20-chunk stream, the upstream pausing "
        "BENCH_C8_GAP_MS between chunks.",
        "",
    ]
    return "\n".join(lines)
