"""BENCH_BARE=1's table: the first chunk and a stream's CPU through the bare relays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.bare_share import DIRECT, FLOOR, Measured, measure, render
from bench.load import warm_up
from bench.procs import MODEL, UPSTREAM_KEY, start_bare_relay, start_floor, start_upstream
from bench.results import Config
from bench.rounds import Contender

Firsts = dict[float, dict[str, float]]  # per pause: target -> first chunk's median (ms)


def _measured(*rounds: tuple[Firsts, dict[str, float]]) -> Measured:
    """Each round: its first chunks per pause, and its CPU per stream per target."""
    gaps = sorted(rounds[0][0])
    return Measured(gaps, [first for first, _ in rounds], [cpu for _, cpu in rounds])


def _row(text: str, start: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {start}")]
    return line


def test_each_cell_shows_the_median_round_with_every_rounds_ratio() -> None:
    first = {DIRECT: 0.2, FLOOR: 0.4, "bare-httpx": 0.42, "bare-aiohttp": 0.38, "Tollgate": 0.5}
    cpu = {FLOOR: 1.0, "bare-httpx": 1.1, "bare-aiohttp": 0.9, "Tollgate": 1.3}
    slower = {**first, "Tollgate": 0.8}
    text = render(
        _measured(
            ({0.0: first}, cpu),
            ({0.0: slower}, {**cpu, "Tollgate": 1.2}),
            ({0.0: first}, {**cpu, "Tollgate": 1.5}),
        )
    )
    assert "| target | first chunk added, c=1, no pause | CPU per stream, c=8 |" in text
    # Added to the upstream's own 0.2 ms: the floor's 0.2, Tollgate's 0.3 (0.6 in round 2).
    tollgate = _row(text, "Tollgate")
    assert "0.300 ms, 1.50x (1.50, 3.00, 1.50)" in tollgate
    assert "1.300 ms, 1.30x (1.30, 1.20, 1.50)" in tollgate
    assert "0.220 ms, 1.10x (1.10, 1.10, 1.10)" in _row(text, "bare relay on Tollgate's stack")
    assert "0.180 ms, 0.90x" in _row(text, "bare relay on uvicorn and aiohttp's client")


def test_the_floor_row_shows_its_figures_without_a_ratio() -> None:
    first = {DIRECT: 0.2, FLOOR: 0.5, "Tollgate": 0.6}
    text = render(_measured(({5.0: first}, {FLOOR: 2.0, "Tollgate": 2.2})))
    floor = _row(text, "the floor")
    assert floor == "| the floor (aiohttp's server and client) | 0.300 ms | 2.000 ms |"
    assert "first chunk added, c=1, 5 ms pauses" in text


def test_a_target_missing_from_a_round_is_shown_as_missing() -> None:
    whole = {DIRECT: 0.2, FLOOR: 0.4, "bare-httpx": 0.44, "bare-aiohttp": 0.4, "Tollgate": 0.5}
    cpu = {FLOOR: 1.0, "bare-httpx": 1.0, "bare-aiohttp": 1.0, "Tollgate": 1.2}
    without = {key: value for key, value in whole.items() if key != "Tollgate"}
    text = render(_measured(({0.0: whole}, cpu), ({0.0: without}, cpu)))
    assert "0.300 ms, 1.50x (1.50, —)" in _row(text, "Tollgate")


def test_a_run_that_failed_says_why_instead_of_a_table() -> None:
    text = render(Measured([0.0], error="floor (bare aiohttp) did not start"))
    assert "not measured: floor (bare aiohttp) did not start" in text
    assert "| target |" not in text


@pytest.mark.served
def test_it_measures_every_target_at_every_pause(tmp_path: Path) -> None:
    config = Config(
        seconds=1,
        streams=3,
        chunks=20,
        gaps=[0.0, 1.0],
        paced_seconds=0.1,
        c8_gap_ms=0,
        c16_threads=1,
        access_log=False,
        slow_streams=0,
        slow_chunks=0,
        rounds=1,
    )
    key = f"Bearer {UPSTREAM_KEY}"
    upstream, upstream_port = start_upstream(tmp_path, 0)
    stops = [upstream.stop]
    try:
        floor, floor_port = start_floor(tmp_path, upstream_port)
        stops.append(floor.stop)
        bare, bare_port = start_bare_relay(tmp_path, upstream_port, "httpx")
        stops.append(bare.stop)
        targets = [
            Contender(DIRECT, upstream_port, key),
            Contender(FLOOR, floor_port, key, {"target": floor.pid}),
            Contender("bare-httpx", bare_port, key, {"target": bare.pid}),
        ]
        for target in targets:
            asyncio.run(warm_up(target.port, MODEL, key, 5))
        measured = measure(targets, config)
    finally:
        for stop in reversed(stops):
            stop()

    (first,) = measured.first
    assert sorted(first) == [0.0, 1.0]
    for gap in (0.0, 1.0):
        assert sorted(first[gap]) == sorted([DIRECT, FLOOR, "bare-httpx"])
        assert all(value > 0 for value in first[gap].values())
    # Each relay's own process did some work for its streams; the upstream is not a relay.
    (cpu,) = measured.cpu
    assert sorted(cpu) == sorted([FLOOR, "bare-httpx"])
    assert all(value > 0 for value in cpu.values())
    text = render(measured)
    assert "first chunk added, c=1, 1 ms pauses" in text
    assert "bare relay on Tollgate's stack" in text
