"""The slow-stream scenario's table: Tollgate beside the floor, judged by the issue's limits."""

from __future__ import annotations

from bench.results import Config, Run
from bench.slow import SlowResult
from bench.slow_report import slow_lines, slow_verdicts


def _config() -> Config:
    return Config(
        seconds=1,
        streams=1,
        chunks=20,
        gaps=[0.0],
        paced_seconds=1,
        c8_gap_ms=5,
        c16_threads=1,
        access_log=False,
        slow_streams=100,
        slow_chunks=60,
    )


def _result(first_ms: float, added_ms: float, errors: int = 0) -> SlowResult:
    result = SlowResult(streams=100, chunks=60, gap_s=1.0)
    result.first_ms = [first_ms] * 100
    result.added_ms = [added_ms] * 100
    result.idle_kib = {"pss": 50_000, "rss": 50_000}
    result.open_kib = {"pss": 53_000, "rss": 53_000}
    if errors:
        result.errors = {"reset": errors}
    return result


def _row(lines: list[str], starts: str) -> list[str]:
    (line,) = [line for line in lines if line.startswith(f"| {starts}")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_floor_is_shown_beside_tollgate() -> None:
    run = Run(_config(), slow=_result(12.0, 3.0), slow_floor=_result(20.0, 4.0))
    lines = slow_lines(run)
    assert "| figure | floor | Tollgate | target | |" in lines
    first = _row(lines, "first chunk")
    assert first[1:] == ["20.00 ms / 20.00 ms", "12.00 ms / 12.00 ms", "p99 < 50 ms", "met"]
    memory = _row(lines, "memory per open stream")
    assert memory[1:3] == ["30.0 KB / 30.0 KB", "30.0 KB / 30.0 KB"]


def test_a_limit_the_floor_misses_too_is_named_under_the_table() -> None:
    run = Run(_config(), slow=_result(60.0, 6.0), slow_floor=_result(40.0, 7.0))
    assert _row(slow_lines(run), "delay added")[-1] == "**NOT met**"
    note = next(line for line in slow_lines(run) if line.startswith("Missed by the floor too"))
    assert "delay added p99 < 5 ms" in note
    # Tollgate misses the first-chunk limit alone: that one is not excused.
    assert "first chunk p99" not in note
    assert _row(slow_lines(run), "first chunk")[-1] == "**NOT met**"


def test_nothing_is_named_when_tollgate_meets_every_limit() -> None:
    run = Run(_config(), slow=_result(10.0, 2.0), slow_floor=_result(90.0, 9.0))
    assert not [line for line in slow_lines(run) if line.startswith("Missed")]
    assert run.slow is not None
    assert slow_verdicts(run.slow) == ["met", "met", "met", "met"]


def test_the_verdicts_are_tollgate_s_whatever_the_floor_did() -> None:
    run = Run(_config(), slow=_result(10.0, 6.0, errors=2), slow_floor=_result(10.0, 2.0))
    assert run.slow is not None
    assert slow_verdicts(run.slow) == ["**NOT met**", "met", "**NOT met**", "met"]
    assert "Errors (Tollgate): 2 x reset" in slow_lines(run)


def test_without_the_floor_s_run_the_table_says_why() -> None:
    run = Run(_config(), slow=_result(10.0, 2.0), slow_floor_error="the floor did not start: boom")
    lines = slow_lines(run)
    assert _row(lines, "errors")[1] == "—"
    assert "The floor's run: the floor did not start: boom" in lines
    skipped = slow_lines(Run(_config(), slow=_result(10.0, 2.0)))
    assert "The floor's run: skipped (BENCH_SLOW_FLOOR=0)" in skipped
