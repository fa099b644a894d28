"""The printed (and saved) results: every Tollgate figure beside the same round's references.

Absolute times differ several-fold between machines, so the issue's targets are ratios to
the floor (a bare aiohttp + uvloop pass-through, bench/floor.py) measured in the same round,
seconds apart, plus a few absolute limits (memory, the slow-stream scenario). A shared
machine's speed drifts over minutes, so the bench runs several rounds and each row shows the
round whose ratio is the median, with every round's ratio beside it. The records read here
are in bench/results.py; the slow-stream scenario's table is in bench/slow_report.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.figures import mb, ms, verdict
from bench.load import StreamResult, WrkResult, quantile
from bench.results import Config, Round, Run, Target
from bench.slow_report import slow_lines, slow_verdicts

# The targets (issue 12): ratios to the floor, and absolute limits.
TARGET_CPU_REQUEST_RATIO = 2.0
TARGET_FIRST_CHUNK_RATIO = 1.25
TARGET_CPU_STREAM_RATIO = 1.2
TARGET_WORKER_IDLE_MB = 60.0


def _ratio(tollgate: float | None, floor: float | None) -> float | None:
    if tollgate is None or floor is None or floor <= 0:
        return None
    return tollgate / floor


def _shown_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}x"


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


def cpu_request_ratio(rnd: Round) -> float | None:
    return _ratio(cpu_per_request(rnd.tollgate.c16), cpu_per_request(rnd.floor.c16))


def cpu_stream_ratio(rnd: Round) -> float | None:
    return _ratio(cpu_per_stream(rnd.tollgate.c8), cpu_per_stream(rnd.floor.c8))


def rows(config: Config, rnd: Round) -> list[Row]:
    """The per-round rows: every figure and ratio from this one round's three targets."""
    d, f, t = rnd.targets()
    out: list[Row] = []
    out.append(
        Row(
            "CPU per non-streamed request, c=16",
            "",
            ms(cpu_per_request(f.c16)),
            ms(cpu_per_request(t.c16)),
            cpu_request_ratio(rnd),
            TARGET_CPU_REQUEST_RATIO,
        )
    )
    rps = [None if x.c16 is None else f"{x.c16.rps:,.0f}" for x in (d, f, t)]
    out.append(
        Row(
            "requests/s, c=16 (one worker)",
            rps[0] or "—",
            rps[1] or "—",
            rps[2] or "—",
            None,
            None,
            "req/s",
            # No ratio to pick the median round by: Tollgate's own figure picks it.
            None if t.c16 is None else t.c16.rps,
        )
    )
    p50 = [None if x.c1 is None else x.c1.p50_ms for x in (d, f, t)]
    add_f, add_t = added(p50[1], p50[0]), added(p50[2], p50[0])
    out.append(
        Row(
            "non-streamed p50 latency, c=1 (added)",
            ms(p50[0]),
            f"{ms(p50[1])} ({ms(add_f)})",
            f"{ms(p50[2])} ({ms(add_t)})",
            _ratio(add_t, add_f),
            None,
        )
    )
    for gap in config.gaps:
        v = [first_p50(x, gap) for x in (d, f, t)]
        add_f, add_t = added(v[1], v[0]), added(v[2], v[0])
        pause = "no pause" if not gap else f"{gap:g} ms pauses"
        out.append(
            Row(
                f"first stream chunk p50, c=1, {pause} (added)",
                ms(v[0]),
                f"{ms(v[1])} (+{ms(add_f)})",
                f"{ms(v[2])} (+{ms(add_t)})",
                _ratio(add_t, add_f),
                TARGET_FIRST_CHUNK_RATIO,
            )
        )
    out.append(
        Row(
            f"CPU per {config.chunks}-chunk stream, c=8, {config.c8_gap_ms:g} ms pauses",
            "",
            ms(cpu_per_stream(f.c8)),
            ms(cpu_per_stream(t.c8)),
            cpu_stream_ratio(rnd),
            TARGET_CPU_STREAM_RATIO,
        )
    )
    return out


def memory_rows(run: Run) -> list[Row]:
    """Memory is measured once (idle after the warm-up, and after the last round)."""
    f, t = run.floor_memory, run.tollgate_memory
    floor_idle = pss_mb(f.idle_kib, "floor")
    worker_idle = pss_mb(t.idle_kib, "worker")
    both_idle = pss_mb(t.idle_kib, "master", "worker")
    floor_end = pss_mb(f.end_kib, "floor")
    both_end = pss_mb(t.end_kib, "master", "worker")
    return [
        Row(
            "memory, idle (PSS; Tollgate: master + worker)",
            "",
            mb(floor_idle),
            mb(both_idle),
            _ratio(both_idle, floor_idle),
            None,
        ),
        Row(
            "memory of the worker alone, idle (PSS)",
            "",
            "",
            mb(worker_idle),
            _ratio(worker_idle, floor_idle),
            TARGET_WORKER_IDLE_MB,
            "MB",
            worker_idle,
        ),
        Row(
            "memory after the runs (PSS; Tollgate: master + worker)",
            "",
            mb(floor_end),
            mb(both_end),
            _ratio(both_end, floor_end),
            None,
        ),
    ]


def median_index(values: Sequence[float | None]) -> int | None:
    """Which of `values` is their median, the unmeasured (None) left out; with an even count
    the higher of the middle two, so a verdict never rests on the kinder of two rounds."""
    measured = sorted((value, index) for index, value in enumerate(values) if value is not None)
    return measured[len(measured) // 2][1] if measured else None


@dataclass
class Shown:
    """A table line: the row as measured in the round picked, and every round's figure."""

    row: Row
    figures: list[float | None] = field(default_factory=list)  # per round; empty: measured once
    picked: int | None = None  # index into `figures` of the round shown


def combine(per_round: Sequence[Sequence[Row]]) -> list[Shown]:
    """Row by row, the round whose checked figure (the ratio, for most) is the median; all of
    a line's columns come from that one round, so each ratio keeps its own pair."""
    out = []
    for same in zip(*per_round, strict=True):
        figures = [row.checked() for row in same]
        picked = median_index(figures)
        # Nothing measured in any round: the first round's row still shows what there is.
        out.append(Shown(same[0 if picked is None else picked], figures, picked))
    return out


def table(run: Run) -> list[Shown]:
    combined = combine([rows(run.config, rnd) for rnd in run.rounds])
    return [*combined, *(Shown(row) for row in memory_rows(run))]


def median_round(run: Run, figure: Callable[[Round], float | None]) -> int | None:
    return median_index([figure(rnd) for rnd in run.rounds])


def failed(run: Run) -> bool:
    """A target or the slow scenario could not be measured (in any round)."""
    errors = [t.error for rnd in run.rounds for t in rnd.targets()]
    return any(errors) or bool(run.slow_error) or not run.rounds


def all_met(run: Run) -> bool:
    checked = [(s.row.checked(), s.row.limit) for s in table(run) if s.row.limit is not None]
    ok = all(m is not None and m <= limit for m, limit in checked)
    if run.config.slow_streams and run.slow is not None:
        ok = ok and all(outcome == "met" for outcome in slow_verdicts(run.slow))
    elif run.config.slow_streams:
        ok = False
    return ok


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if unit == "x" else f"{value:,.0f}"


def _spread(shown: Shown) -> str:
    """Every round's figure in order, the round shown in bold."""
    parts = [_figure(v, shown.row.unit) for v in shown.figures]
    if shown.picked is not None and len(parts) > 1:
        parts[shown.picked] = f"**{parts[shown.picked]}**"
    return " / ".join(parts)


def _rounds_note(run: Run) -> str:
    c, done = run.config, len(run.rounds)
    stopped = f" (stopped after {done} of {c.rounds}: a target failed)" if done < c.rounds else ""
    if done <= 1:
        return f"One round{stopped or ' (BENCH_ROUNDS=1)'}: every figure is from it. "
    return (
        f"Rounds: {done}{stopped}; each ran every scenario against direct, the floor and "
        "Tollgate back to back, so both sides of a ratio were measured seconds apart. A line "
        "shows the round whose ratio is the median of the rounds' (with an even count the "
        "higher middle one; requests/s: Tollgate's median requests/s): every column on it is "
        'from that one round, and its verdict is that median. "rounds" lists each round\'s '
        "figure in order, the one shown in bold. Memory is measured once: idle after the "
        "warm-up, and after the last round. "
    )


def render(run: Run) -> str:
    c = run.config
    out = [
        "# Tollgate benchmark",
        "",
        f"- Tollgate: `{c.command}` (one worker unless said otherwise)",
        "- floor: bench/floor.py, a bare aiohttp + uvloop pass-through (no auth, no routing), "
        "same upstream, same loads",
        f"- {c.rounds} round{'s: in each,' if c.rounds != 1 else ':'} every scenario runs "
        "against direct, the floor and Tollgate back to back",
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
    for number, rnd in enumerate(run.rounds, 1):
        where = f" in round {number} of {c.rounds}" if c.rounds > 1 else ""
        for target in rnd.targets():
            if target.error:
                head = f"**{target.name}: not (fully) measured{where}:**"
                out += [head, "", "```", target.error, "```", ""]
    spread = len(run.rounds) > 1
    out += [
        "| per worker | direct | floor | Tollgate | Tollgate / floor "
        + ("| rounds " if spread else "")
        + "| target | |",
        "|---|---:|---:|---:|---:|" + ("---:|" if spread else "") + "---:|---|",
    ]
    for s in table(run):
        r = s.row
        if r.limit is None:
            limit = ""
        elif r.unit == "x":
            limit = f"≤ {r.limit:g}x"
        else:
            limit = f"≤ {r.limit:g} {r.unit}"
        outcome = "" if r.limit is None else verdict(r.checked(), r.limit)
        rounds = f"| {_spread(s)} " if spread else ""
        out.append(
            f"| {r.label} | {r.direct} | {r.floor} | {r.tollgate} "
            f"| {_shown_ratio(r.ratio)} {rounds}| {limit} | {outcome} |"
        )
    out += [
        "",
        _rounds_note(run)
        + "Added latency is over direct; its ratio is Tollgate's added over the floor's "
        "added. CPU is the target's own processes (Tollgate: the worker) per request or "
        "stream, read from each process's CPU clock (to the nanosecond) around each run.",
        "",
    ]
    out += _cpu_lines(run)
    out += _throughput_lines(run)
    out += slow_lines(run)
    return "\n".join(out) + "\n"


def _cpu_lines(run: Run) -> list[str]:
    if not run.rounds:
        return []
    spread = len(run.rounds) > 1
    out = [
        "Who used the CPU (percent of one core over each run's wall time"
        + ("; from the round shown above for CPU per request and per stream" if spread else "")
        + "):",
        "",
        "| run | target | fake upstream | load generator |",
        "|---|---:|---:|---:|",
    ]
    picks = (
        ("wrk c=16", median_round(run, cpu_request_ratio), "wrk"),
        ("streams c=8", median_round(run, cpu_stream_ratio), "client"),
    )
    for position in range(3):
        for label, picked, loader in picks:
            index = 0 if picked is None else picked
            target = run.rounds[index].targets()[position]
            result = target.c16 if loader == "wrk" else target.c8
            if result is None:
                continue
            w = result.watched
            own = f"{w.percent('target'):.0f} %" if "target" in w.cpu else "—"
            where = f" (round {index + 1})" if spread else ""
            out.append(
                f"| {target.name}, {label}{where} | {own} | {w.percent('upstream'):.0f} % "
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
            f"| {entry.workers} | {r.rps:,.0f} | {ms(r.p50_ms)} / {ms(r.p99_ms)} "
            f"| {r.watched.percent('target'):.0f} % | {speed} |"
        )
    out += [
        "",
        f"On {os.cpu_count()} CPUs shared with wrk and the fake upstream, near-linear "
        "is not reachable here: read the speed-up with the workers' CPU.",
        "",
    ]
    return out
