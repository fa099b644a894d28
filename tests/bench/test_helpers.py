"""The benchmark's own helpers: what reaches the gateway's environment, the fake upstream's
pacing names, and the slow-stream arithmetic. No timing here: figures live in `make bench`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.procs import SetupError, gateway_env, gateway_overrides
from bench.report import Config, Run, Target, rows
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


def test_the_table_reads_tollgate_against_the_floor_with_nothing_measured() -> None:
    config = Config(
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
    )
    floor, tollgate = Target("floor"), Target("Tollgate")
    floor.idle_pss_kib = {"floor": 30 * 1024}
    tollgate.idle_pss_kib = {"master": 20 * 1024, "worker": 45 * 1024}
    table = {row.label: row for row in rows(Run(config, Target("direct"), floor, tollgate))}
    worker = table["memory of the worker alone, idle (PSS)"]
    assert worker.checked() == 45.0 and worker.limit == 60.0
    both = table["memory, idle (PSS; Tollgate: master + worker)"]
    assert both.ratio == pytest.approx(65 / 30)
    assert table["first stream chunk p50, c=1, 5 ms pauses (added)"].ratio is None
