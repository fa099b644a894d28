"""channels_admin.health: success rates, percentiles from latency buckets and top errors,
read from the per-channel aggregates the usage writer keeps."""

from __future__ import annotations

import pytest

from channels_admin.health import (
    LATENCY_BOUNDS_MS,
    Percentile,
    hourly_attempts,
    last_day_health,
    last_hour_health,
    latency_bucket,
    percentile,
    top_errors,
    window_start,
)
from tests.support.usage_entries import hours_ago, served, store

pytestmark = pytest.mark.django_db


# --- percentiles from buckets (no database) ---------------------------------------------


@pytest.mark.django_db(False)
def test_a_percentile_is_the_upper_bound_of_its_bucket() -> None:
    # 10 values at <= 25 ms (bucket 0), 9 at <= 500 (bucket 5), 1 at <= 5000 (bucket 11).
    counts = {0: 10, 5: 9, 11: 1}
    assert percentile(counts, 50) == Percentile(25)
    assert percentile(counts, 51) == Percentile(500)
    assert percentile(counts, 95) == Percentile(500)
    assert percentile(counts, 100) == Percentile(5_000)


@pytest.mark.django_db(False)
def test_past_the_last_bound_a_percentile_reads_slower_than_it() -> None:
    slowest = len(LATENCY_BOUNDS_MS)
    assert percentile({slowest: 3}, 50) == Percentile(300_000, slower=True)


@pytest.mark.django_db(False)
def test_no_counts_no_percentile() -> None:
    assert percentile({}, 50) is None
    assert percentile({3: 0}, 95) is None


@pytest.mark.django_db(False)
def test_values_on_a_bound_fall_in_its_bucket() -> None:
    for bound in LATENCY_BOUNDS_MS:
        assert LATENCY_BOUNDS_MS[latency_bucket(bound)] == bound


# --- read back from what the writer stored ----------------------------------------------


def test_success_rate_and_percentiles_over_the_last_hour() -> None:
    store(
        *[served(channel_id=7, latency_ms=80, first_byte_ms=20) for _ in range(18)],
        served(channel_id=7, status=502, latency_ms=4_000),
        served(channel_id=7, status=502, latency_ms=4_000),
        served(channel_id=7, created_at=hours_ago(1), latency_ms=700),  # previous hour: counted
        served(channel_id=7, created_at=hours_ago(3), status=500),  # not in the last hour
        served(channel_id=8),
    )
    health = last_hour_health()[7]

    assert (health.attempts, health.successes) == (21, 19)
    assert health.success_rate == pytest.approx(100 * 19 / 21)
    assert health.latency_p50 == Percentile(100)
    assert health.latency_p95 == Percentile(5_000)
    assert health.first_byte_p50 == Percentile(25)
    assert set(last_hour_health([8])) == {8}
    assert last_day_health()[7].attempts == 22


def test_failover_attempts_count_for_the_channel_that_failed() -> None:
    store(
        served(
            channel_id=2,
            attempts=[
                {"channel_id": 1, "status": 500, "error": "boom", "latency_ms": 30},
                {"channel_id": 2, "status": 200, "error": None, "latency_ms": 90},
            ],
        )
    )
    found = last_hour_health()
    assert (found[1].attempts, found[1].successes, found[1].success_rate) == (1, 0, 0.0)
    assert (found[2].attempts, found[2].successes) == (1, 1)


def test_top_errors_by_count_with_status_and_text() -> None:
    failing = {"channel_id": 3, "status": 502, "error": "bad gateway", "latency_ms": 10}
    silent = {"channel_id": 3, "status": None, "error": "connect timeout", "latency_ms": 10}
    store(
        *[served(channel_id=3, status=502, attempts=[failing]) for _ in range(3)],
        served(channel_id=3, status=502, attempts=[silent]),
        served(
            channel_id=4,
            status=429,
            attempts=[{**failing, "channel_id": 4, "status": 429, "error": "slow down"}],
        ),
        served(channel_id=3, status=502, attempts=[failing], created_at=hours_ago(30)),
    )
    errors = top_errors(window_start(24))
    assert [(e.channel_id, e.status, e.error, e.count) for e in errors] == [
        (3, 502, "bad gateway", 3),
        (3, 0, "connect timeout", 1),
        (4, 429, "slow down", 1),
    ]
    assert [e.channel_id for e in top_errors(window_start(24), channel_id=4)] == [4]


def test_hourly_attempts_fill_24_hours_oldest_first() -> None:
    store(
        served(channel_id=5),
        served(channel_id=5, status=500),
        served(channel_id=5, created_at=hours_ago(2)),
    )
    hours = hourly_attempts(5)
    assert len(hours) == 24
    assert (hours[-1].attempts, hours[-1].successes, hours[-1].success_rate) == (2, 1, 50.0)
    assert hours[-3].attempts == 1
    assert hours[0].attempts == 0 and hours[0].success_rate is None
