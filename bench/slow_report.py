"""The slow-stream scenario's part of the report: its figures beside the issue's limits."""

from __future__ import annotations

from bench.figures import kib, mb, ms, verdict
from bench.results import Run
from bench.slow import SlowResult

# The absolute limits for the scenario (issue 12).
TARGET_SLOW_FIRST_P99_MS = 50.0
TARGET_SLOW_ADDED_P99_MS = 5.0
TARGET_SLOW_KIB_PER_STREAM = 40.0


def slow_rows(slow: SlowResult) -> list[tuple[str, str, str, str]]:
    """(figure, measured, limit, verdict) for the slow-stream scenario."""
    first99, added99 = slow.first_p(0.99), slow.added_p(0.99)
    per_pss, per_rss = slow.per_stream_kib("pss"), slow.per_stream_kib("rss")
    return [
        (
            "errors",
            f"{slow.error_count} of {slow.streams}",
            "0",
            "met" if slow.error_count == 0 else "**NOT met**",
        ),
        (
            "first chunk p50 / p99 (from the request's write)",
            f"{ms(slow.first_p(0.5))} / {ms(first99)}",
            f"p99 < {TARGET_SLOW_FIRST_P99_MS:g} ms",
            verdict(first99, TARGET_SLOW_FIRST_P99_MS),
        ),
        (
            "delay added to each later chunk once all are open, p50 / p99 / max "
            "(arrival - upstream's send)",
            f"{ms(slow.added_p(0.5))} / {ms(added99)} / {ms(slow.added_p(1.0))}",
            f"p99 < {TARGET_SLOW_ADDED_P99_MS:g} ms",
            verdict(added99, TARGET_SLOW_ADDED_P99_MS),
        ),
        (
            "the same while they were being opened (the ramp), p50 / p99",
            f"{ms(slow.added_p(0.5, ramp=True))} / {ms(slow.added_p(0.99, ramp=True))}",
            "",
            "",
        ),
        (
            "worker memory per open stream: PSS / RSS ((open - idle) / N)",
            f"{kib(per_pss)} / {kib(per_rss)}",
            f"< {TARGET_SLOW_KIB_PER_STREAM:g} KB",
            verdict(per_pss, TARGET_SLOW_KIB_PER_STREAM),
        ),
        (
            "worker PSS idle → with every stream open",
            f"{mb(slow.idle_kib.get('pss', 0) / 1024)} → {mb(slow.open_kib.get('pss', 0) / 1024)}",
            "",
            "",
        ),
        (
            "time until every stream had its first chunk / whole scenario",
            f"{slow.ramp_s:.1f} s / {slow.wall_s:.1f} s",
            "",
            "",
        ),
        (
            "CPU over the scenario: worker / fake upstream / client",
            f"{slow.target_cpu_s:.1f} s / {slow.upstream_cpu_s:.1f} s / {slow.client_cpu_s:.1f} s",
            "",
            "",
        ),
    ]


def slow_lines(run: Run) -> list[str]:
    c = run.config
    if not c.slow_streams:
        return ["Slow-stream scenario skipped (BENCH_SLOW_STREAMS=0).", ""]
    head = (
        f"{c.slow_streams:,} concurrent slow streams through one worker ({c.slow_chunks} "
        f"chunks, one a second, opened evenly over {c.slow_ramp_s:g} s; gateway settings "
        f"for it: {run.slow_env or 'defaults'}):"
    )
    if run.slow is None:
        return [head, "", "```", run.slow_error or "not measured", "```", ""]
    out = [head, "", "| figure | measured | target | |", "|---|---:|---:|---|"]
    for figure, measured, limit, outcome in slow_rows(run.slow):
        out.append(f"| {figure} | {measured} | {limit} | {outcome} |")
    if run.slow.errors:
        shown = "; ".join(f"{n} x {why}" for why, n in sorted(run.slow.errors.items())[:8])
        out += ["", f"Errors: {shown}"]
    return [*out, ""]
