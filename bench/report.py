"""The printed (and saved) results: one comparison table, who used the CPU, and the targets."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bench.load import StreamResult, WrkResult, quantile

# The targets for one worker on the 2-core bench machine.
TARGET_CPU_PER_REQUEST_MS = 2.0
TARGET_ADDED_P50_MS = 2.5
TARGET_ADDED_FIRST_CHUNK_MS = 3.0
TARGET_CPU_PER_STREAM_MS = 5.0
TARGET_RSS_MB = 120.0

R = TypeVar("R")


@dataclass
class Side:
    """Everything measured against one target: the upstream directly, or the gateway."""

    name: str
    c1: WrkResult | None = None
    c16: WrkResult | None = None
    burst: StreamResult | None = None
    paced: StreamResult | None = None
    memory_kib: dict[str, int] = field(default_factory=dict)
    error: str = ""  # why some figures are missing


@dataclass
class Config:
    seconds: float
    streams: int
    chunks: int
    gap_ms: float
    c16_threads: int
    access_log: bool
    command: str = ""


def _of(result: R | None, read: Callable[[R], float]) -> float | None:
    return None if result is None else read(result)


def _p50(result: WrkResult) -> float:
    return result.p50_ms


def _p99(result: WrkResult) -> float:
    return result.p99_ms


def _cpu_per_request(result: WrkResult) -> float:
    return result.cpu_ms_per_request("gateway")


def _cpu_per_stream(result: StreamResult) -> float:
    return result.cpu_ms_per_stream("gateway")


def _first_chunk(q: float) -> Callable[[StreamResult], float]:
    return lambda result: quantile(result.first_ms, q)


def _total(q: float) -> Callable[[StreamResult], float]:
    return lambda result: quantile(result.total_ms, q)


def _added(direct: float | None, gateway: float | None) -> float | None:
    return None if direct is None or gateway is None else gateway - direct


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} ms" if value < 1 else f"{value:.2f} ms"


def _added_ms(direct: float | None, gateway: float | None) -> str:
    added = _added(direct, gateway)
    return "—" if added is None else f"{added:+.2f} ms"


def _row(label: str, direct: str, gateway: str, added: str = "") -> str:
    return f"| {label} | {direct} | {gateway} | {added} |"


def _compared_rows(
    label: str, direct: R | None, gateway: R | None, reads: list[tuple[str, Callable[[R], float]]]
) -> list[str]:
    """One row per figure: direct, through the gateway, and what the gateway added."""
    rows = []
    for name, read in reads:
        d, g = _of(direct, read), _of(gateway, read)
        rows.append(_row(f"{label}: {name}", _ms(d), _ms(g), _added_ms(d, g)))
    return rows


def _wrk_rows(label: str, direct: WrkResult | None, gateway: WrkResult | None) -> list[str]:
    def rps(result: WrkResult | None) -> str:
        return "—" if result is None else f"{result.rps:,.0f}"

    rows = [_row(f"{label}: requests/s", rps(direct), rps(gateway))]
    rows += _compared_rows(label, direct, gateway, [("p50 latency", _p50), ("p99 latency", _p99)])
    cpu = _of(gateway, _cpu_per_request)
    rows.append(_row(f"{label}: gateway CPU per request", "", _ms(cpu)))
    return rows


def _stream_rows(
    label: str, direct: StreamResult | None, gateway: StreamResult | None
) -> list[str]:
    reads = [
        ("first chunk p50", _first_chunk(0.5)),
        ("first chunk p99", _first_chunk(0.99)),
        ("total p50", _total(0.5)),
        ("total p99", _total(0.99)),
    ]
    rows = _compared_rows(label, direct, gateway, reads)

    def socket_reads(result: StreamResult | None) -> str:
        return "—" if result is None else f"{result.body_reads:.1f}"

    rows.append(_row(f"{label}: socket reads per stream at the client", socket_reads(direct),
                     socket_reads(gateway)))  # fmt: skip
    cpu = _of(gateway, _cpu_per_stream)
    rows.append(_row(f"{label}: gateway CPU per stream", "", _ms(cpu)))
    return rows


def _cpu_rows(side: Side) -> list[str]:
    rows = []
    runs: list[tuple[str, WrkResult | StreamResult | None, str]] = [
        ("wrk c=1", side.c1, "wrk"),
        ("wrk c=16", side.c16, "wrk"),
        ("streams back to back", side.burst, "client"),
        ("streams paced", side.paced, "client"),
    ]
    for label, result, loader in runs:
        if result is None:
            continue
        w = result.watched
        count = result.requests if isinstance(result, WrkResult) else result.count
        gateway = f"{w.percent('gateway'):.0f} %" if "gateway" in w.cpu else "—"
        upstream_ms = 1000.0 * w.cpu["upstream"] / count
        rows.append(
            f"| {side.name}, {label} | {w.wall:.2f} s | {count:,} | {gateway} "
            f"| {w.percent('upstream'):.0f} % ({upstream_ms:.3f} ms/req) "
            f"| {w.percent(loader):.0f} % ({loader}) |"
        )
    return rows


def _worst(*values: float | None) -> float | None:
    """The larger figure, or None when either could not be measured."""
    return None if any(v is None for v in values) else max(v for v in values if v is not None)


def _worse_of(read: Callable[[R], float], *results: R | None) -> float | None:
    return _worst(*(_of(result, read) for result in results))


def _added_by_gateway(
    read: Callable[[R], float], direct: R | None, gateway: R | None
) -> float | None:
    return _added(_of(direct, read), _of(gateway, read))


def targets(direct: Side, gateway: Side) -> list[tuple[str, str, float, float | None]]:
    """(target, unit, limit, measured or None when it could not be measured)."""
    first_p50 = _first_chunk(0.5)
    added_first_chunk = _worst(
        _added_by_gateway(first_p50, direct.burst, gateway.burst),
        _added_by_gateway(first_p50, direct.paced, gateway.paced),
    )
    rss = gateway.memory_kib.get("VmRSS")
    return [
        (
            "gateway CPU per non-streamed request (worse of c=1 and c=16)",
            "ms",
            TARGET_CPU_PER_REQUEST_MS,
            _worse_of(_cpu_per_request, gateway.c1, gateway.c16),
        ),
        (
            "added p50 latency at c=1",
            "ms",
            TARGET_ADDED_P50_MS,
            _added_by_gateway(_p50, direct.c1, gateway.c1),
        ),
        (
            "added time to first chunk, p50 (worse of back to back and paced)",
            "ms",
            TARGET_ADDED_FIRST_CHUNK_MS,
            added_first_chunk,
        ),
        (
            "gateway CPU per 20-chunk stream (worse of back to back and paced)",
            "ms",
            TARGET_CPU_PER_STREAM_MS,
            _worse_of(_cpu_per_stream, gateway.burst, gateway.paced),
        ),
        (
            "gateway worker resident memory (VmRSS)",
            "MB",
            TARGET_RSS_MB,
            None if rss is None else rss / 1024,
        ),
    ]


def all_met(direct: Side, gateway: Side) -> bool:
    return all(m is not None and m <= limit for _, _, limit, m in targets(direct, gateway))


def render(direct: Side, gateway: Side, config: Config) -> str:
    out = [
        "# Tollgate benchmark",
        "",
        f"- gateway: `{config.command}`",
        f"- wrk: {config.seconds:g} s per run, `-t1 -c1` and `-t{config.c16_threads} -c16`, "
        "non-streamed chat completions",
        f"- streams: {config.streams} sequential streams of {config.chunks} chunks on one "
        f"keep-alive connection, back to back and paced {config.gap_ms:g} ms apart",
        f"- {os.cpu_count()} CPUs shared by the load generator, the fake upstream and the gateway",
        "",
    ]
    for side in (direct, gateway):
        if side.error:
            out += [f"**{side.name}: not (fully) measured:**", "", "```", side.error, "```", ""]
    out += ["| | direct | gateway | added |", "|---|---:|---:|---:|"]
    out += _wrk_rows("c=1", direct.c1, gateway.c1)
    out += _wrk_rows("c=16", direct.c16, gateway.c16)
    out += _stream_rows("streams back to back", direct.burst, gateway.burst)
    out += _stream_rows(f"streams paced {config.gap_ms:g} ms", direct.paced, gateway.paced)
    rss, hwm = gateway.memory_kib.get("VmRSS"), gateway.memory_kib.get("VmHWM")
    memory = "—" if rss is None or hwm is None else f"{rss / 1024:.1f} / {hwm / 1024:.1f} MB"
    out.append(_row("gateway worker memory after the runs (VmRSS / peak VmHWM)", "", memory))
    out += ["", "Socket reads per stream: about 21 means each chunk reached the client on its own."]
    if gateway.c16 and gateway.c16.watched.percent("gateway") >= 90:
        out.append(
            "At c=16 the one gateway worker is saturated (a full core), so its latency there is "
            "mostly queueing: read requests/s and CPU per request."
        )
    out += [
        "",
        "CPU per run, in percent of one core over the run's wall time:",
        "",
        "| run | wall | requests | gateway worker | fake upstream | load generator |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += _cpu_rows(direct) + _cpu_rows(gateway)
    out += ["", "| target | limit | measured | |", "|---|---:|---:|---|"]
    for name, unit, limit, measured in targets(direct, gateway):
        shown = "—" if measured is None else f"{measured:.2f} {unit}"
        verdict = "not measured" if measured is None else "met" if measured <= limit else "NOT met"
        out.append(f"| {name} | ≤ {limit:g} {unit} | {shown} | {verdict} |")
    return "\n".join(out) + "\n"
