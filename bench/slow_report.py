"""The slow-stream scenario's part of the report: Tollgate's figures beside the floor's and
beside the issue's limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.figures import kib, mb, ms, verdict
from bench.results import Run
from bench.slow import SlowResult

# The absolute limits for the scenario (issue 12).
TARGET_SLOW_FIRST_P99_MS = 50.0
TARGET_SLOW_ADDED_P99_MS = 5.0
TARGET_SLOW_KIB_PER_STREAM = 40.0


@dataclass(frozen=True)
class SlowFigure:
    label: str
    shown: Callable[[SlowResult], str]
    # The figure the limit is about, and the limit (None: shown, not judged).
    checked: Callable[[SlowResult], float | None] = lambda _: None
    limit: float | None = None
    limit_text: str = ""
    short: str = ""  # how the limit is named in the sentence under the table

    def verdict(self, slow: SlowResult) -> str:
        return "" if self.limit is None else verdict(self.checked(slow), self.limit)


def _errors(slow: SlowResult) -> float:
    return float(slow.error_count)


FIGURES = [
    SlowFigure(
        "errors", lambda s: f"{s.error_count} of {s.streams}", _errors, 0.0, "0", "no error"
    ),
    SlowFigure(
        "first chunk p50 / p99 (from the request's write)",
        lambda s: f"{ms(s.first_p(0.5))} / {ms(s.first_p(0.99))}",
        lambda s: s.first_p(0.99),
        TARGET_SLOW_FIRST_P99_MS,
        f"p99 < {TARGET_SLOW_FIRST_P99_MS:g} ms",
        f"first chunk p99 < {TARGET_SLOW_FIRST_P99_MS:g} ms",
    ),
    SlowFigure(
        "delay added to each later chunk once all are open, p50 / p99 / max "
        "(arrival - upstream's send)",
        lambda s: f"{ms(s.added_p(0.5))} / {ms(s.added_p(0.99))} / {ms(s.added_p(1.0))}",
        lambda s: s.added_p(0.99),
        TARGET_SLOW_ADDED_P99_MS,
        f"p99 < {TARGET_SLOW_ADDED_P99_MS:g} ms",
        f"delay added p99 < {TARGET_SLOW_ADDED_P99_MS:g} ms",
    ),
    SlowFigure(
        "the same while they were being opened (the ramp), p50 / p99",
        lambda s: f"{ms(s.added_p(0.5, ramp=True))} / {ms(s.added_p(0.99, ramp=True))}",
    ),
    SlowFigure(
        "memory per open stream: PSS / RSS ((open - idle) / N; Tollgate: the worker)",
        lambda s: f"{kib(s.per_stream_kib('pss'))} / {kib(s.per_stream_kib('rss'))}",
        lambda s: s.per_stream_kib("pss"),
        TARGET_SLOW_KIB_PER_STREAM,
        f"< {TARGET_SLOW_KIB_PER_STREAM:g} KB",
        f"memory per stream < {TARGET_SLOW_KIB_PER_STREAM:g} KB",
    ),
    SlowFigure(
        "PSS idle → with every stream open",
        lambda s: f"{mb(s.idle_kib.get('pss', 0) / 1024)} → {mb(s.open_kib.get('pss', 0) / 1024)}",
    ),
    SlowFigure(
        "time until every stream had its first chunk / whole scenario",
        lambda s: f"{s.ramp_s:.1f} s / {s.wall_s:.1f} s",
    ),
    SlowFigure(
        "CPU over the scenario: relay / fake upstream / client",
        lambda s: f"{s.target_cpu_s:.1f} s / {s.upstream_cpu_s:.1f} s / {s.client_cpu_s:.1f} s",
    ),
]


def slow_verdicts(slow: SlowResult) -> list[str]:
    """Tollgate's verdict on each limit of the scenario."""
    return [f.verdict(slow) for f in FIGURES if f.limit is not None]


def floor_misses_too(run: Run) -> list[str]:
    """The limits Tollgate misses that the floor, through the same streams, misses too."""
    if run.slow is None or run.slow_floor is None:
        return []
    return [
        f.short
        for f in FIGURES
        if f.limit is not None
        and f.verdict(run.slow) != "met"
        and f.verdict(run.slow_floor) not in ("met", "not measured")
    ]


def slow_lines(run: Run) -> list[str]:
    c = run.config
    if not c.slow_streams:
        return ["Slow-stream scenario skipped (BENCH_SLOW_STREAMS=0).", ""]
    head = (
        f"{c.slow_streams:,} concurrent slow streams through one worker ({c.slow_chunks} "
        f"chunks, one a second, opened evenly over {c.slow_ramp_s:g} s; gateway settings "
        f"for it: {run.slow_env or 'defaults'}), then the same streams through the floor:"
    )
    if run.slow is None:
        return [head, "", "```", run.slow_error or "not measured", "```", ""]
    floor = run.slow_floor
    out = [
        head,
        "",
        "| figure | floor | Tollgate | target | |",
        "|---|---:|---:|---:|---|",
    ]
    for figure in FIGURES:
        floor_text = figure.shown(floor) if floor is not None else "—"
        out.append(
            f"| {figure.label} | {floor_text} | {figure.shown(run.slow)} | "
            f"{figure.limit_text} | {figure.verdict(run.slow)} |"
        )
    if floor is None:
        out += ["", f"The floor's run: {run.slow_floor_error or 'skipped (BENCH_SLOW_FLOOR=0)'}"]
    misses = floor_misses_too(run)
    if misses:
        out += [
            "",
            "Missed by the floor too, through the same streams on this machine: "
            + "; ".join(misses)
            + ". These limits are absolute, not ratios: the machine's speed sets them.",
        ]
    for name, result in (("Tollgate", run.slow), ("floor", floor)):
        if result is not None and result.errors:
            shown = "; ".join(f"{n} x {why}" for why, n in sorted(result.errors.items())[:8])
            out += ["", f"Errors ({name}): {shown}"]
    return [*out, ""]
