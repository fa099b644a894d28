"""The rounds of `make bench`: each scenario against direct, the floor and Tollgate back to back.

A target is a Contender (where it answers, with which key, which processes to watch); each is
checked and warmed up once (prepare), then every round runs each scenario's step against all
three in turn, so the two sides of a ratio are measured seconds apart, not minutes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import BenchError
from bench.load import (
    Watch,
    WrkResult,
    check_endpoints,
    run_concurrent_streams,
    run_streams,
    run_wrk,
    warm_up,
    write_wrk_script,
)
from bench.procs import MODEL, SetupError, pss_kib
from bench.results import Config, Memory, Round, Target
from bench.upstream import STREAM_CHUNKS, paced_model


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def model_for(gap: float) -> str:
    return MODEL if not gap else paced_model(gap)


def series_count(config: Config, gap: float) -> int:
    """Streams in one c=1 series: BENCH_STREAMS, fewer when paced past BENCH_PACED_SECONDS."""
    if not gap:
        return config.streams
    per_stream = config.chunks * gap / 1000 + 0.002
    return max(20, min(config.streams, round(config.paced_seconds / per_stream)))


@dataclass
class Contender:
    """A target the rounds measure: where it answers, with which key, what to watch."""

    name: str
    port: int = 0
    authorization: str = ""
    pids: dict[str, int] = field(default_factory=dict)  # for Watch: "upstream", "target"
    script: Path | None = None  # wrk's request, with this target's key
    error: str = ""  # set once it failed: no later scenario or round runs against it
    log: Callable[[], str] | None = None  # its process's last lines, added to a failure

    def fail(self, exc: BaseException | str) -> str:
        self.error = str(exc) or type(exc).__name__
        tail = self.log() if self.log else ""
        if tail:
            self.error += f"\n\ngunicorn's last log lines:\n{tail}"
        say(f"{self.name}: FAILED: {self.error.splitlines()[0]}")
        return self.error


Step = Callable[[Contender, Target], None]


def prepare(contender: Contender, work: Path, memory: tuple[Memory, dict[str, int]] | None) -> None:
    """Once per target before the rounds: answers checked, warm-up, idle memory."""
    if contender.error:
        return
    port, auth = contender.port, contender.authorization
    try:
        asyncio.run(check_endpoints(port, MODEL, auth, STREAM_CHUNKS))
        asyncio.run(warm_up(port, MODEL, auth, 200))
        if memory is not None:
            memory[0].idle_kib = pss(memory[1])
        contender.script = write_wrk_script(work / f"{contender.name}.lua", MODEL, auth)
    except (BenchError, OSError, TimeoutError) as exc:
        contender.fail(exc)


def _checked_wrk(result: WrkResult) -> None:
    if result.errors:
        raise BenchError(f"wrk saw {result.errors}")


def scenarios(config: Config) -> list[tuple[str, Step]]:
    """Each scenario as one step per target; a round runs each against all three in turn."""

    def wrk(c: Contender, connections: int, threads: int) -> WrkResult:
        assert c.script is not None
        return run_wrk(
            c.port,
            c.script,
            threads=threads,
            connections=connections,
            seconds=config.seconds,
            watch=Watch(c.pids),
        )

    def c1(c: Contender, target: Target) -> None:
        # Kept before the check, so a run with errors still shows what it measured.
        target.c1 = wrk(c, 1, 1)
        _checked_wrk(target.c1)

    def c16(c: Contender, target: Target) -> None:
        target.c16 = wrk(c, 16, config.c16_threads)
        _checked_wrk(target.c16)

    return [
        (f"wrk c=1 for {config.seconds:g} s", c1),
        (f"wrk c=16 for {config.seconds:g} s", c16),
        *first_chunk_scenarios(config),
        stream_cpu_scenario(config),
    ]


def first_chunk_scenarios(config: Config) -> list[tuple[str, Step]]:
    """A c=1 series of streams per pause of the upstream: the first chunk's time."""

    def first(gap: float, count: int) -> Step:
        def step(c: Contender, target: Target) -> None:
            target.first[gap] = asyncio.run(
                run_streams(
                    c.port,
                    model_for(gap),
                    c.authorization,
                    count=count,
                    chunks=STREAM_CHUNKS,
                    watch=Watch(c.pids),
                )
            )

        return step

    out: list[tuple[str, Step]] = []
    for gap in config.gaps:
        count = series_count(config, gap)
        out.append((f"{count} streams at c=1, upstream pausing {gap:g} ms", first(gap, count)))
    return out


def stream_cpu_scenario(config: Config) -> tuple[str, Step]:
    """Streams at c=8 for BENCH_SECONDS: the CPU per stream."""

    def c8(c: Contender, target: Target) -> None:
        target.c8 = asyncio.run(
            run_concurrent_streams(
                c.port,
                paced_model(config.c8_gap_ms),
                c.authorization,
                concurrency=8,
                seconds=config.seconds,
                chunks=STREAM_CHUNKS,
                watch=Watch(c.pids),
            )
        )

    return f"streams at c=8 for {config.seconds:g} s", c8


def run_rounds(contenders: list[Contender], config: Config) -> list[Round]:
    """Each scenario against every target back to back, so the two sides of a ratio are
    measured seconds apart, not minutes: a shared machine's speed drifts in between."""
    steps = scenarios(config)
    rounds: list[Round] = []
    for number in range(1, config.rounds + 1):
        # A target that failed before (or in setup) shows its error in this round.
        targets = [Target(c.name, error=c.error) for c in contenders]
        for what, step in steps:
            names = ", ".join(c.name for c in contenders if not c.error)
            say(f"round {number} of {config.rounds}: {what}: {names}")
            for contender, target in zip(contenders, targets, strict=True):
                if contender.error:
                    continue
                try:
                    step(contender, target)
                except (BenchError, OSError, TimeoutError) as exc:
                    target.error = contender.fail(exc)
        direct, floor, tollgate = targets
        rounds.append(Round(direct, floor, tollgate))
        # Later rounds could give no ratio for what failed, and the run fails anyway.
        if any(c.error for c in contenders):
            if number < config.rounds:
                say("no further rounds: a target failed")
            break
    return rounds


def pss(pids: dict[str, int]) -> dict[str, int]:
    try:
        return {name: pss_kib(pid) for name, pid in pids.items()}
    except (OSError, SetupError):
        return {}
