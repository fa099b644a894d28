"""Retention: records older than TOLLGATE_USAGE_RETENTION_DAYS go, in batches; the aggregates
stay; the server's loop purges at start and stops when told."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.usage.log_records import make_records
from usage import retention
from usage.entries import UsageEntry
from usage.models import UsageDaily, UsageHourly, UsageRecord
from usage.retention import purge_batch, purge_expired, retention_cutoff, run_retention
from usage.services import store_usage

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def entry(created_at: dt.datetime, request_id: str) -> UsageEntry:
    return UsageEntry(
        created_at=created_at,
        request_id=request_id,
        token_id=None,
        client_ip=None,
        endpoint="/v1/chat/completions",
        requested_model="gpt-4o-mini",
        status=200,
        prompt_tokens=10,
        completion_tokens=5,
        total_tokens=15,
    )


def request_ids() -> list[str]:
    return sorted(UsageRecord.objects.values_list("request_id", flat=True))


def test_the_cutoff_is_now_less_the_days(settings: Any) -> None:
    settings.USAGE_RETENTION_DAYS = 90
    assert retention_cutoff(NOW) == NOW - dt.timedelta(days=90)
    assert retention_cutoff(NOW, 7) == NOW - dt.timedelta(days=7)


def test_zero_days_keeps_everything(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 0
    make_records(3, start=NOW - dt.timedelta(days=3650))
    assert retention_cutoff(NOW) is None
    assert purge_expired(now=NOW) == 0
    assert UsageRecord.objects.count() == 3


def test_it_deletes_only_what_is_older_than_the_cutoff(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 30
    cutoff = NOW - dt.timedelta(days=30)
    store_usage(
        [
            entry(cutoff - dt.timedelta(days=5), "old"),
            entry(cutoff - dt.timedelta(microseconds=1), "just-old"),
            entry(cutoff, "at-cutoff"),
            entry(NOW - dt.timedelta(days=1), "recent"),
        ]
    )

    assert purge_expired(now=NOW) == 2
    assert request_ids() == ["at-cutoff", "recent"]


def test_the_aggregates_are_kept(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 30
    store_usage([entry(NOW - dt.timedelta(days=60 + n), f"old{n}") for n in range(3)])
    hourly = list(UsageHourly.objects.values_list("requests", flat=True))
    daily = list(UsageDaily.objects.values_list("requests", flat=True))

    assert purge_expired(now=NOW) == 3

    assert UsageRecord.objects.count() == 0
    assert list(UsageHourly.objects.values_list("requests", flat=True)) == hourly
    assert list(UsageDaily.objects.values_list("requests", flat=True)) == daily
    assert sum(daily) == 3


def test_it_deletes_in_batches_oldest_first(db: None) -> None:
    make_records(12, start=NOW - dt.timedelta(days=100))

    with CaptureQueriesContext(connection) as queries:
        deleted = purge_expired(now=NOW, days=30, batch_size=5)

    assert deleted == 12
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 5 + 5 + 2
    # Each DELETE names its rows by id: none scans the table under a long lock.
    assert all("IN (" in sql for sql in deletes)


def test_one_batch_takes_the_oldest_first(db: None) -> None:
    make_records(4, start=NOW - dt.timedelta(days=100))
    assert purge_batch(NOW, 3) == 3
    assert request_ids() == ["r3"]


def test_the_loop_purges_at_start_and_stops_when_told(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 30
    make_records(3, start=timezone.now() - dt.timedelta(days=40))
    make_records(2, start=timezone.now() - dt.timedelta(days=1))

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_retention(stop))
        # The purge runs first thing; wait until it has, then stop the loop.
        while await asyncio.to_thread(lambda: True) and not task.done():
            if await _count() == 2:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    async def _count() -> int:
        from asgiref.sync import sync_to_async

        return await sync_to_async(UsageRecord.objects.count)()

    async_to_sync(run)()

    assert UsageRecord.objects.count() == 2


def test_the_loop_logs_failures_and_goes_on(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.USAGE_RETENTION_DAYS = 30
    settings.USAGE_RETENTION_INTERVAL = 0.01
    calls: list[int] = []
    stop = asyncio.Event()

    def failing(cutoff: dt.datetime, batch_size: int = 5000) -> int:
        calls.append(1)
        if len(calls) >= 2:
            stop.set()
        raise RuntimeError("database away")

    monkeypatch.setattr(retention, "purge_batch", failing)

    with caplog.at_level(logging.ERROR, logger="usage.retention"):
        async_to_sync(run_retention)(stop)

    assert len(calls) == 2
    assert "the purge failed" in caplog.text


def test_a_set_stop_ends_the_loop_at_once(settings: Any, db: None) -> None:
    settings.USAGE_RETENTION_DAYS = 0
    stop = asyncio.Event()
    stop.set()
    async_to_sync(run_retention)(stop)
