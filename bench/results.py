"""What one `make bench` run measured, as bench/run.py fills it in and bench/report.py reads it.

Only the records here; the rounds that fill them are in bench/rounds.py, the tables in
bench/report.py and bench/slow_report.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load import StreamResult, WrkResult
from bench.slow import SlowResult


@dataclass
class Target:
    """What one round measured against one target: the upstream directly, the floor, Tollgate."""

    name: str
    c1: WrkResult | None = None
    c16: WrkResult | None = None
    first: dict[float, StreamResult] = field(default_factory=dict)  # pause (ms) -> c=1 series
    c8: StreamResult | None = None
    error: str = ""  # why some figures are missing


@dataclass
class Round:
    """Every scenario run against direct, the floor and Tollgate back to back."""

    direct: Target
    floor: Target
    tollgate: Target

    def targets(self) -> tuple[Target, Target, Target]:
        return self.direct, self.floor, self.tollgate


@dataclass
class Memory:
    """PSS per process (kiB): measured once, not per round."""

    idle_kib: dict[str, int] = field(default_factory=dict)  # after the warm-up
    end_kib: dict[str, int] = field(default_factory=dict)  # after the last round


@dataclass
class Throughput:
    workers: int
    result: WrkResult | None = None
    error: str = ""


@dataclass
class Config:
    seconds: float
    streams: int
    chunks: int
    gaps: list[float]
    paced_seconds: float
    c8_gap_ms: float
    c16_threads: int
    access_log: bool
    slow_streams: int
    slow_chunks: int
    slow_ramp_s: float = 20.0
    rounds: int = 1
    command: str = ""
    passed_env: list[str] = field(default_factory=list)


@dataclass
class Run:
    config: Config
    rounds: list[Round] = field(default_factory=list)
    floor_memory: Memory = field(default_factory=Memory)
    tollgate_memory: Memory = field(default_factory=Memory)
    throughput: list[Throughput] = field(default_factory=list)
    slow: SlowResult | None = None
    slow_error: str = ""
    slow_env: str = ""
    # The same scenario through the floor (BENCH_SLOW_FLOOR=0 skips it): the scenario's
    # limits are absolute, so the floor shows what this machine allows any Python relay.
    slow_floor: SlowResult | None = None
    slow_floor_error: str = ""
