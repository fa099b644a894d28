"""The aggregates the dashboard reads agree with the usage records they were folded from."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from channels_admin.models import ChannelError, ChannelHourly, ChannelLatency
from usage.aggregates import LATENCY_BOUNDS_MS, hour_of, latency_bucket
from usage.entries import UsageEntry
from usage.models import UsageDaily, UsageHourly, UsageRecord
from usage.services import store_usage

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def random_entries(rng: random.Random, count: int) -> list[UsageEntry]:
    entries = []
    for number in range(count):
        status = rng.choice([200, 200, 200, 429, 499, 502])
        channel = rng.choice([None, 1, 2])
        failover = rng.random() < 0.3
        attempts = []
        if failover:
            attempts.append(
                {"channel_id": 3, "status": 500, "error": "boom", "latency_ms": rng.randint(1, 50)}
            )
        if channel is not None:
            attempts.append(
                {"channel_id": channel, "status": status if status != 499 else 200,
                 "error": None, "latency_ms": rng.randint(1, 5000)}
            )  # fmt: skip
        entries.append(
            UsageEntry(
                created_at=NOW - dt.timedelta(minutes=rng.randint(0, 60 * 50)),
                request_id=f"r{number}",
                token_id=rng.choice([1, 2, 3]),
                client_ip="127.0.0.1",
                endpoint="/v1/chat/completions",
                requested_model=rng.choice(["gpt-4o-mini", "org/model-x"]),
                channel_id=channel,
                attempts=attempts,
                status=status,
                prompt_tokens=rng.randint(0, 900),
                completion_tokens=rng.randint(0, 900),
                cost=rng.randint(0, 10**6),
                latency_ms=rng.randint(1, 9000),
                first_byte_ms=rng.choice([None, rng.randint(1, 900)]),
                group=rng.choice(["default", "vip"]),
            )
        )
    return entries


def test_hourly_and_daily_totals_add_up_to_the_records() -> None:
    entries = random_entries(random.Random(7), 400)
    for start in range(0, 400, 90):  # several batches: the upserts add up
        store_usage(entries[start : start + 90])

    records = UsageRecord.objects.aggregate(
        n=Count("id"), cost=Sum("cost"), prompt=Sum("prompt_tokens"), lat=Sum("latency_ms")
    )
    for table in (UsageHourly, UsageDaily):
        totals = table.objects.aggregate(
            n=Sum("requests"), cost=Sum("cost"), prompt=Sum("prompt_tokens"), lat=Sum("latency_ms")
        )
        assert totals == records
    by_model = dict(
        UsageRecord.objects.filter(status__gte=500)
        .values_list("requested_model")
        .annotate(n=Count("id"))
    )
    assert by_model == dict(
        UsageHourly.objects.values_list("model").annotate(n=Sum("upstream_errors")).filter(n__gt=0)
    )
    assert UsageHourly.objects.aggregate(n=Sum("client_closed"))["n"] == (
        UsageRecord.objects.filter(status=499).count()
    )


def test_each_hour_holds_that_hours_records() -> None:
    entries = random_entries(random.Random(11), 200)
    store_usage(entries)

    rows = UsageHourly.objects.values("hour", "token_id", "model", "channel_id").annotate(
        cost=Sum("cost")
    )
    assert rows
    for row in rows:
        matching = UsageRecord.objects.filter(
            created_at__gte=row["hour"],
            created_at__lt=row["hour"] + dt.timedelta(hours=1),
            token_id=row["token_id"],
            requested_model=row["model"],
            channel_id=row["channel_id"] or None,
        )
        assert matching.aggregate(cost=Sum("cost"))["cost"] == row["cost"]


def test_channel_attempts_errors_and_latencies_count_every_attempt() -> None:
    entries = random_entries(random.Random(3), 300)
    store_usage(entries)

    attempts = [attempt for entry in entries for attempt in entry.attempts]
    assert ChannelHourly.objects.aggregate(n=Sum("attempts"))["n"] == len(attempts)
    failed = [a for a in attempts if not 200 <= a["status"] < 300]
    assert ChannelError.objects.aggregate(n=Sum("count"))["n"] == len(failed)
    assert ChannelError.objects.filter(channel_id=3, status=500, error="boom").exists()
    assert ChannelLatency.objects.filter(kind="latency").aggregate(n=Sum("count"))["n"] == len(
        attempts
    )
    first_bytes = [e for e in entries if e.channel_id and e.first_byte_ms is not None]
    assert ChannelLatency.objects.filter(kind="first_byte").aggregate(n=Sum("count"))["n"] == len(
        first_bytes
    )


def test_buckets_and_hours() -> None:
    assert latency_bucket(0) == 0
    assert latency_bucket(25) == 0
    assert latency_bucket(26) == 1
    assert latency_bucket(10**9) == len(LATENCY_BOUNDS_MS)
    moment = dt.datetime(2026, 11, 26, 8, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert hour_of(moment) == dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)
