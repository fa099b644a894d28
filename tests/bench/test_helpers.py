"""The benchmark's own helpers: what reaches the gateway's environment, the fake upstream's
pacing names, and the slow-stream arithmetic. No timing here: figures live in `make bench`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.procs import SetupError, cpu_seconds, gateway_env, gateway_overrides
from bench.report import Row, all_met, combine, failed, median_index, render, table
from bench.results import Config, Round, Run, Target
from bench.slow import SlowResult
from bench.upstream import _PACING, paced_model


def test_tollgate_variables_pass_through_but_not_the_ones_the_bench_owns() -> None:
    environ = {
        "TOLLGATE_RELAY_REFRESH_SECONDS": "5",
        "TOLLGATE_WORKERS": "7",
        "TOLLGATE_DATA_DIR": "/srv/real",
        "TOLLGATE_PORT": "8000",
        "HOME": "/root",
    }
    assert gateway_overrides(environ) == {"TOLLGATE_RELAY_REFRESH_SECONDS": "5"}


def test_a_clean_environment_takes_only_the_named_overrides() -> None:
    environ = {
        "TOLLGATE_RELAY_REFRESH_SECONDS": "5",
        "BENCH_CLEAN_ENV": "1",
        "BENCH_GATEWAY_ENV": "TOLLGATE_LOG_FORMAT=json 'TOLLGATE_TRUSTED_PROXIES=10.0.0.1 ::1'",
    }
    assert gateway_overrides(environ) == {
        "TOLLGATE_LOG_FORMAT": "json",
        "TOLLGATE_TRUSTED_PROXIES": "10.0.0.1 ::1",
    }


def test_named_overrides_win_over_the_environment() -> None:
    environ = {
        "TOLLGATE_USAGE_FLUSH_SECONDS": "1",
        "BENCH_GATEWAY_ENV": "TOLLGATE_USAGE_FLUSH_SECONDS=9",
    }
    assert gateway_overrides(environ) == {"TOLLGATE_USAGE_FLUSH_SECONDS": "9"}


@pytest.mark.parametrize("item", ["DATABASE_URL=postgres://x", "TOLLGATE_X"])
def test_an_override_that_is_not_a_tollgate_setting_is_refused(item: str) -> None:
    with pytest.raises(SetupError):
        gateway_overrides({"BENCH_GATEWAY_ENV": item})


def test_the_gateway_never_gets_real_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://real")
    monkeypatch.setenv("REDIS_URL", "redis://real")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "elsewhere")
    monkeypatch.setenv("TOLLGATE_DATA_DIR", "/srv/real")
    monkeypatch.setenv("TOLLGATE_MAX_CONNECTIONS", "10")
    monkeypatch.delenv("BENCH_CLEAN_ENV", raising=False)
    monkeypatch.delenv("BENCH_GATEWAY_ENV", raising=False)
    env = gateway_env(tmp_path / "data", {"TOLLGATE_MAX_CONNECTIONS": "5256"})
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    assert env["DJANGO_SETTINGS_MODULE"] == "gateway.settings"
    assert env["TOLLGATE_DATA_DIR"] == str(tmp_path / "data")
    assert env["TOLLGATE_MAX_CONNECTIONS"] == "5256"  # the scenario's own setting wins


def test_paced_model_names_are_what_the_upstream_reads() -> None:
    body = b'{"model":"' + paced_model(1000, 60).encode() + b'","stream":true}'
    match = _PACING.search(body)
    assert match is not None and match.groups() == (b"1000", b"60")
    match = _PACING.search(b'{"model":"' + paced_model(0.5).encode() + b'"}')
    assert match is not None and match.groups() == (b"0.5", None)
    assert _PACING.search(b'{"model":"bench-model"}') is None


def test_memory_per_stream_is_the_growth_over_idle_shared_by_the_streams() -> None:
    result = SlowResult(streams=1000, chunks=60, gap_s=1.0)
    result.idle_kib = {"pss": 60_000}
    result.open_kib = {"pss": 90_000}
    assert result.per_stream_kib("pss") == 30.0
    assert result.per_stream_kib("rss") is None


def _config() -> Config:
    return Config(
        seconds=1,
        streams=1,
        chunks=20,
        gaps=[0.0, 5.0],
        paced_seconds=1,
        c8_gap_ms=5,
        c16_threads=1,
        access_log=False,
        slow_streams=0,
        slow_chunks=60,
        rounds=3,
    )


def _round() -> Round:
    return Round(Target("direct"), Target("floor"), Target("Tollgate"))


def test_the_table_reads_tollgate_against_the_floor_with_nothing_measured() -> None:
    run = Run(_config(), rounds=[_round()])
    run.floor_memory.idle_kib = {"floor": 30 * 1024}
    run.tollgate_memory.idle_kib = {"master": 20 * 1024, "worker": 45 * 1024}
    lines = {shown.row.label: shown for shown in table(run)}
    worker = lines["memory of the worker alone, idle (PSS)"]
    assert worker.row.checked() == 45.0 and worker.row.limit == 60.0
    assert worker.figures == []  # measured once, not per round
    both = lines["memory, idle (PSS; Tollgate: master + worker)"]
    assert both.row.ratio == pytest.approx(65 / 30)
    first = lines["first stream chunk p50, c=1, 5 ms pauses (added)"]
    assert first.row.ratio is None and first.picked is None
    assert "not measured" in render(run)


def test_the_median_round_is_a_real_round_and_the_higher_middle_one_when_even() -> None:
    assert median_index([2.31, 2.10, 1.95]) == 1
    assert median_index([1.5, None, 2.5, 2.0]) == 3  # 1.5, 2.0, 2.5 measured: 2.0
    assert median_index([1.2, 1.1]) == 0  # the higher of the two: a verdict is not flattered
    assert median_index([None, None]) is None


def _cpu_row(floor: str, tollgate: str, ratio: float | None) -> Row:
    return Row("CPU per non-streamed request, c=16", "", floor, tollgate, ratio, 2.0)


def test_rows_combine_as_the_median_round_with_its_own_figures_and_every_ratio() -> None:
    rounds = [
        [_cpu_row("0.30 ms", "0.69 ms", 2.31)],
        [_cpu_row("0.20 ms", "0.42 ms", 2.10)],
        [_cpu_row("0.40 ms", "0.78 ms", 1.95)],
    ]
    (shown,) = combine(rounds)
    assert shown.figures == [2.31, 2.10, 1.95]
    assert shown.picked == 1
    # Both columns and the ratio come from the same round: the pairing is kept.
    assert (shown.row.floor, shown.row.tollgate, shown.row.ratio) == ("0.20 ms", "0.42 ms", 2.10)


def test_a_round_that_did_not_measure_is_left_out_of_the_median_but_shown() -> None:
    rounds = [[_cpu_row("0.30 ms", "0.69 ms", 2.31)], [_cpu_row("0.20 ms", "—", None)]]
    (shown,) = combine(rounds)
    assert shown.picked == 0 and shown.figures == [2.31, None]
    run = Run(_config(), rounds=[_round(), _round()])
    run.rounds[1].tollgate.error = "wrk saw 3 non-2xx responses"
    text = render(run)
    assert "**Tollgate: not (fully) measured in round 2 of 3:**" in text
    assert "stopped after 2 of 3" in text
    assert failed(run) and not all_met(run)


def test_a_process_cpu_time_is_read_to_well_under_a_clock_tick() -> None:
    # The same kernel clock as the process's own, not /proc's 10 ms ticks.
    before = time.process_time()
    read = cpu_seconds(os.getpid())
    after = time.process_time()
    assert before - 0.001 <= read <= after + 0.001


_WORKER = """
import sys, time
for line in sys.stdin:
    sum(range(10**6 * int(line)))
    print(time.process_time(), flush=True)
"""


def test_another_process_cpu_time_is_what_it_reports_itself() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write("20\n")
        child.stdin.flush()
        # It has worked, told its own CPU time, and now waits for the next line.
        own = float(child.stdout.readline())
        read = cpu_seconds(child.pid)
        assert own > 0.02
        assert abs(read - own) < 0.002
        child.stdin.close()
        child.wait(timeout=60)
    finally:
        child.kill()
    with pytest.raises(OSError, match=f"no CPU clock for process {child.pid}"):
        cpu_seconds(child.pid)
