"""The printed (and saved) results: every Tollgate figure beside the same run's references.

Absolute times differ several-fold between machines, so the issue's targets are ratios to
the floor (a bare aiohttp + uvloop pass-through, bench/floor.py) measured in the same run,
plus a few absolute limits (memory, the slow-stream scenario).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bench.load import StreamResult, WrkResult, quantile
from bench.slow import SlowResult

# The targets (issue 12): ratios to the floor, and absolute limits.
TARGET_CPU_REQUEST_RATIO = 2.0
TARGET_FIRST_CHUNK_RATIO = 1.25
TARGET_CPU_STREAM_RATIO = 1.2
TARGET_WORKER_IDLE_MB = 60.0
TARGET_SLOW_FIRST_P99_MS = 50.0
TARGET_SLOW_ADDED_P99_MS = 5.0
TARGET_SLOW_KIB_PER_STREAM = 40.0


@dataclass
class Target:
    """Everything measured against one target: the upstream directly, the floor, Tollgate."""

    name: str
    c1: WrkResult | None = None
    c16: WrkResult | None = None
    first: dict[float, StreamResult] = field(default_factory=dict)  # pause (ms) -> c=1 series
    c8: StreamResult | None = None
    idle_pss_kib: dict[str, int] = field(default_factory=dict)  # process -> PSS, after warm-up
    end_pss_kib: dict[str, int] = field(default_factory=dict)  # process -> PSS, after the runs
    error: str = ""  # why some figures are missing


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
    command: str = ""
    passed_env: list[str] = field(default_factory=list)


@dataclass
class Run:
    config: Config
    direct: Target
    floor: Target
    tollgate: Target
    throughput: list[Throughput] = field(default_factory=list)
    slow: SlowResult | None = None
    slow_error: str = ""
    slow_env: str = ""


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} ms" if abs(value) < 1 else f"{value:.2f} ms"


def _ratio(tollgate: float | None, floor: float | None) -> float | None:
    if tollgate is None or floor is None or floor <= 0:
        return None
    return tollgate / floor


def _shown_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}x"


def _verdict(measured: float | None, limit: float) -> str:
    if measured is None:
        return "not measured"
    return "met" if measured <= limit else "**NOT met**"


def cpu_per_request(result: WrkResult | None) -> float | None:
    return None if result is None else result.cpu_ms_per_request("target")


def cpu_per_stream(result: StreamResult | None) -> float | None:
    return None if result is None else result.cpu_ms_per_stream("target")


def first_p50(target: Target, gap: float) -> float | None:
    series = target.first.get(gap)
    return quantile(series.first_ms, 0.5) if series and series.first_ms else None


def added(value: float | None, direct: float | None) -> float | None:
    return None if value is None or direct is None else value - direct


def pss_mb(values: dict[str, int], *names: str) -> float | None:
    if not values or any(n not in values for n in names):
        return None
    return sum(values[n] for n in names) / 1024


@dataclass
class Row:
    label: str
    direct: str
    floor: str
    tollgate: str
    ratio: float | None
    limit: float | None  # a ratio or an absolute figure, per `unit`
    unit: str = "x"
    measured: float | None = None  # what the limit is checked against (the ratio by default)

    def checked(self) -> float | None:
        return self.ratio if self.unit == "x" else self.measured


def rows(run: Run) -> list[Row]:
    d, f, t = run.direct, run.floor, run.tollgate
    out: list[Row] = []
    cpu_f, cpu_t = cpu_per_request(f.c16), cpu_per_request(t.c16)
    out.append(
        Row(
            "CPU per non-streamed request, c=16",
            "",
            _ms(cpu_f),
            _ms(cpu_t),
            _ratio(cpu_t, cpu_f),
            TARGET_CPU_REQUEST_RATIO,
        )
    )
    rps = [None if x.c16 is None else f"{x.c16.rps:,.0f}" for x in (d, f, t)]
    out.append(
        Row(
            "requests/s, c=16 (one worker)", rps[0] or "—", rps[1] or "—", rps[2] or "—", None, None
        )
    )
    p50 = [None if x.c1 is None else x.c1.p50_ms for x in (d, f, t)]
    add_f, add_t = added(p50[1], p50[0]), added(p50[2], p50[0])
    out.append(
        Row(
            "non-streamed p50 latency, c=1 (added)",
            _ms(p50[0]),
            f"{_ms(p50[1])} ({_ms(add_f)})",
            f"{_ms(p50[2])} ({_ms(add_t)})",
            _ratio(add_t, add_f),
            None,
        )
    )
    for gap in run.config.gaps:
        v = [first_p50(x, gap) for x in (d, f, t)]
        add_f, add_t = added(v[1], v[0]), added(v[2], v[0])
        pause = "no pause" if not gap else f"{gap:g} ms pauses"
        out.append(
            Row(
                f"first stream chunk p50, c=1, {pause} (added)",
                _ms(v[0]),
                f"{_ms(v[1])} (+{_ms(add_f)})",
                f"{_ms(v[2])} (+{_ms(add_t)})",
                _ratio(add_t, add_f),
                TARGET_FIRST_CHUNK_RATIO,
            )
        )
    cs_f, cs_t = cpu_per_stream(f.c8), cpu_per_stream(t.c8)
    out.append(
        Row(
            f"CPU per {run.config.chunks}-chunk stream, c=8, {run.config.c8_gap_ms:g} ms pauses",
            "",
            _ms(cs_f),
            _ms(cs_t),
            _ratio(cs_t, cs_f),
            TARGET_CPU_STREAM_RATIO,
        )
    )
    floor_idle = pss_mb(f.idle_pss_kib, "floor")
    worker_idle = pss_mb(t.idle_pss_kib, "worker")
    both_idle = pss_mb(t.idle_pss_kib, "master", "worker")
    out.append(
        Row(
            "memory, idle (PSS; Tollgate: master + worker)",
            "",
            _mb(floor_idle),
            _mb(both_idle),
            _ratio(both_idle, floor_idle),
            None,
        )
    )
    out.append(
        Row(
            "memory of the worker alone, idle (PSS)",
            "",
            "",
            _mb(worker_idle),
            _ratio(worker_idle, floor_idle),
            TARGET_WORKER_IDLE_MB,
            "MB",
            worker_idle,
        )
    )
    out.append(
        Row(
            "memory after the runs (PSS; Tollgate: master + worker)",
            "",
            _mb(pss_mb(f.end_pss_kib, "floor")),
            _mb(pss_mb(t.end_pss_kib, "master", "worker")),
            _ratio(pss_mb(t.end_pss_kib, "master", "worker"), pss_mb(f.end_pss_kib, "floor")),
            None,
        )
    )
    return out


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"


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
            f"{_ms(slow.first_p(0.5))} / {_ms(first99)}",
            f"p99 < {TARGET_SLOW_FIRST_P99_MS:g} ms",
            _verdict(first99, TARGET_SLOW_FIRST_P99_MS),
        ),
        (
            "delay added to each later chunk once all are open, p50 / p99 / max "
            "(arrival - upstream's send)",
            f"{_ms(slow.added_p(0.5))} / {_ms(added99)} / {_ms(slow.added_p(1.0))}",
            f"p99 < {TARGET_SLOW_ADDED_P99_MS:g} ms",
            _verdict(added99, TARGET_SLOW_ADDED_P99_MS),
        ),
        (
            "the same while they were being opened (the ramp), p50 / p99",
            f"{_ms(slow.added_p(0.5, ramp=True))} / {_ms(slow.added_p(0.99, ramp=True))}",
            "",
            "",
        ),
        (
            "worker memory per open stream: PSS / RSS ((open - idle) / N)",
            f"{_kib(per_pss)} / {_kib(per_rss)}",
            f"< {TARGET_SLOW_KIB_PER_STREAM:g} KB",
            _verdict(per_pss, TARGET_SLOW_KIB_PER_STREAM),
        ),
        (
            "worker PSS idle → with every stream open",
            f"{_mb(slow.idle_kib.get('pss', 0) / 1024)} → "
            f"{_mb(slow.open_kib.get('pss', 0) / 1024)}",
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


def _kib(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} KB"


def all_met(run: Run) -> bool:
    checked = [(r.checked(), r.limit) for r in rows(run) if r.limit is not None]
    ok = all(m is not None and m <= limit for m, limit in checked)
    if run.config.slow_streams and run.slow is not None:
        ok = ok and all(verdict == "met" for _, _, limit, verdict in slow_rows(run.slow) if limit)
    elif run.config.slow_streams:
        ok = False
    return ok


def render(run: Run) -> str:
    c = run.config
    out = [
        "# Tollgate benchmark",
        "",
        f"- Tollgate: `{c.command}` (one worker unless said otherwise)",
        "- floor: bench/floor.py, a bare aiohttp + uvloop pass-through (no auth, no routing), "
        "same upstream, same loads",
        f"- non-streamed: wrk {c.seconds:g} s at `-t1 -c1` and `-t{c.c16_threads} -c16`; "
        f"streams: {c.chunks} chunks, first-chunk series at c=1 (up to {c.streams} streams or "
        f"{c.paced_seconds:g} s per pause), CPU per stream at c=8 for {c.seconds:g} s",
        f"- {os.cpu_count()} CPUs shared by the load generator, the fake upstream and the target",
        f"- TOLLGATE_* passed to the gateway: {', '.join(c.passed_env) or 'none'}",
        "- access log: "
        + (
            "Tollgate's on (BENCH_ACCESS_LOG=1); the floor writes none"
            if c.access_log
            else "off on both, like for like (the floor writes none; BENCH_ACCESS_LOG=1 turns "
            "Tollgate's on)"
        ),
        "",
    ]
    for target in (run.direct, run.floor, run.tollgate):
        if target.error:
            out += [f"**{target.name}: not (fully) measured:**", "", "```", target.error, "```", ""]
    out += [
        "| per worker | direct | floor | Tollgate | Tollgate / floor | target | |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows(run):
        if r.limit is None:
            limit = ""
        elif r.unit == "x":
            limit = f"≤ {r.limit:g}x"
        else:
            limit = f"≤ {r.limit:g} {r.unit}"
        verdict = "" if r.limit is None else _verdict(r.checked(), r.limit)
        out.append(
            f"| {r.label} | {r.direct} | {r.floor} | {r.tollgate} "
            f"| {_shown_ratio(r.ratio)} | {limit} | {verdict} |"
        )
    out += [
        "",
        "Added latency is over direct; its ratio is Tollgate's added over the floor's "
        "added. CPU is the target's own processes (Tollgate: the worker) per request or "
        "stream, read from /proc around each run.",
        "",
    ]
    out += _cpu_lines(run)
    out += _throughput_lines(run)
    out += _slow_lines(run)
    return "\n".join(out) + "\n"


def _cpu_lines(run: Run) -> list[str]:
    out = [
        "Who used the CPU (percent of one core over each run's wall time):",
        "",
        "| run | target | fake upstream | load generator |",
        "|---|---:|---:|---:|",
    ]
    for target in (run.direct, run.floor, run.tollgate):
        for label, result, loader in (
            ("wrk c=16", target.c16, "wrk"),
            ("streams c=8", target.c8, "client"),
        ):
            if result is None:
                continue
            w = result.watched
            own = f"{w.percent('target'):.0f} %" if "target" in w.cpu else "—"
            out.append(
                f"| {target.name}, {label} | {own} | {w.percent('upstream'):.0f} % "
                f"| {w.percent(loader):.0f} % ({loader}) |"
            )
    return [*out, ""]


def _throughput_lines(run: Run) -> list[str]:
    if not run.throughput:
        return []
    out = [
        "Throughput, non-streamed, wrk `-t2 -c64` (same load, one worker vs all cores):",
        "",
        "| workers | requests/s | p50 / p99 | workers' CPU | speed-up |",
        "|---:|---:|---:|---:|---:|",
    ]
    base = run.throughput[0].result
    for entry in run.throughput:
        r = entry.result
        if r is None:
            out.append(f"| {entry.workers} | failed: {entry.error} | | | |")
            continue
        first = base is None or entry is run.throughput[0]
        speed = "1.00x" if first or base is None else f"{r.rps / base.rps:.2f}x"
        out.append(
            f"| {entry.workers} | {r.rps:,.0f} | {_ms(r.p50_ms)} / {_ms(r.p99_ms)} "
            f"| {r.watched.percent('target'):.0f} % | {speed} |"
        )
    out += [
        "",
        f"On {os.cpu_count()} CPUs shared with wrk and the fake upstream, near-linear "
        "is not reachable here: read the speed-up with the workers' CPU.",
        "",
    ]
    return out


def _slow_lines(run: Run) -> list[str]:
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
    for figure, measured, limit, verdict in slow_rows(run.slow):
        out.append(f"| {figure} | {measured} | {limit} | {verdict} |")
    if run.slow.errors:
        shown = "; ".join(f"{n} x {why}" for why, n in sorted(run.slow.errors.items())[:8])
        out += ["", f"Errors: {shown}"]
    return [*out, ""]
