"""The stage trace of BENCH_TRACE=1: what the hooks note, and how the table reads it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.trace import ANSWER, CALL, OUT, REQUEST, SHARED, WRITTEN, Marks, Traced, complete, render
from bench.trace_run import trace_gaps


def _marks() -> Marks:
    ticks = itertools.count(0, 1000)  # one µs a tick
    return Marks(clock=lambda: next(ticks))


def test_each_point_keeps_the_first_time_it_was_reached() -> None:
    marks = _marks()
    marks.mark(CALL)  # before any request: nothing to attach it to
    marks.begin()
    marks.mark(CALL)
    marks.mark(CALL)
    marks.begin()
    assert marks.rows == [{REQUEST: 0, CALL: 1000}]
    assert marks.current == {REQUEST: 2000}


def test_the_dump_holds_every_request_noted(tmp_path: Path) -> None:
    marks = _marks()
    marks.begin()
    marks.mark(OUT)
    marks.begin()
    path = marks.dump(tmp_path)
    assert json.loads(path.read_text()) == [{REQUEST: 0, OUT: 1000}, {REQUEST: 2000}]
    assert not list(tmp_path.glob("*.partial"))


def _row(start: int, spans: list[int], **extra: int) -> dict[str, int]:
    row = {REQUEST: start}
    at = start
    for point, span in zip(SHARED[1:], spans, strict=True):
        at += span * 1000
        row[point] = at
    return {**row, **extra}


def test_the_table_shows_each_stage_median_for_both() -> None:
    floor = [_row(0, [200, 200, 200, 100]), _row(0, [220, 210, 200, 120])]
    tollgate = [_row(0, [500, 380, 270, 250]), _row(0, [560, 370, 260, 270])]
    text = render({5.0: Traced(floor, tollgate)}, 150)
    assert "| stage | floor, 5 ms | Tollgate, 5 ms |" in text
    assert "| request in → upstream call begins (the relay's own work) | 210 µs | 530 µs |" in text
    assert "| in all: request in → first chunk out | 725 µs | 1430 µs |" in text
    # Tollgate's own steps were not hooked in this data: shown as missing, not as zero.
    assert "| server: request parsed, ASGI app called (uvicorn) | — |" in text


def test_each_pause_has_its_pair_of_columns_in_order() -> None:
    fast = [_row(0, [60, 50, 70, 40])]
    slow = [_row(0, [200, 200, 200, 100])]
    text = render({20.0: Traced(slow, slow, (200, 900, 1150)), 0.0: Traced(fast, slow)}, 150)
    head = "| stage | floor, no pause | Tollgate, no pause | floor, 20 ms | Tollgate, 20 ms |"
    assert head in text
    assert "| in all: request in → first chunk out | 220 µs | 700 µs | 700 µs | 700 µs |" in text
    assert "| step | Tollgate, no pause | Tollgate, 20 ms |" in text
    # What the client saw, beside the upstream directly: only where it was measured.
    added = (
        "| the client: first chunk's time added to the upstream's own | — | — | 700 µs | 950 µs |"
    )
    assert added in text


def test_only_requests_that_reached_every_point_are_counted() -> None:
    whole = _row(0, [1, 1, 1, 1])
    cut_short = {REQUEST: 0, CALL: 1000, WRITTEN: 2000, ANSWER: 3000}
    assert complete([whole, cut_short, whole], last=150) == [whole, whole]
    assert complete([whole] * 5, last=2) == [whole, whole]


def test_a_hook_that_reaches_nothing_is_reported() -> None:
    whole = [_row(0, [1, 1, 1, 1])]
    text = render({0.0: Traced(whole, whole), 5.0: Traced([], whole)}, 150)
    assert text.startswith("stage trace: too few complete requests (5 ms: floor 0, Tollgate 1)")


def test_the_pauses_to_trace_come_from_the_environment() -> None:
    assert trace_gaps({}) == [0.0, 5.0, 20.0]
    assert trace_gaps({"BENCH_TRACE_GAPS": "20 1"}) == [1.0, 20.0]
    for wrong in ("", "five", "-1"):
        with pytest.raises(SystemExit, match="BENCH_TRACE_GAPS"):
            trace_gaps({"BENCH_TRACE_GAPS": wrong})


def test_the_hooks_find_what_they_wrap_in_the_installed_libraries() -> None:
    # In a process of its own: the hooks patch library classes for good.
    code = (
        "import django; django.setup()\n"
        "from bench.trace import Marks, install_floor, install_tollgate\n"
        "install_tollgate(Marks()); install_floor(Marks()); print('hooked')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hooked"
