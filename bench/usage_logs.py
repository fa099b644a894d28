"""`make bench` (after bench.run): the Logs page at a million usage records.

Seeds BENCH_USAGE_ROWS records (default 1,000,000; `--rows`) into a throwaway SQLite database,
and, when DATABASE_URL points at PostgreSQL, into a throwaway database created beside it and
dropped after, then times what the Logs page asks: the first page, each filter alone, a deep
keyset page, the request-id search (each the page's query and the whole rendered view), the
CSV export's throughput and memory, and a retention purge.

Each database runs in a child process of its own: Django's settings are read once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

TARGET_SECONDS = 0.5
REPEATS = 5
DAYS = 60
TOKENS = 50
CHANNELS = 10
MODELS = [f"model-{n:02d}" for n in range(20)]
# (status, weight): mostly answered, some refused, a few upstream failures.
STATUSES = [(200, 940), (429, 25), (400, 10), (401, 5), (502, 15), (503, 5)]
INSERT_CHUNK = 20_000


def _seed_rows(rows: int, now: dt.datetime, token_ids: list[int], channel_ids: list[int]) -> Any:
    """The records, oldest first (as the relay writes them), seeded: the same every run."""
    rng = random.Random(10)
    statuses = [status for status, _ in STATUSES]
    weights = [weight for _, weight in STATUSES]
    span = dt.timedelta(days=DAYS).total_seconds()
    start = now - dt.timedelta(days=DAYS)
    step = span / rows
    for n in range(rows):
        status = rng.choices(statuses, weights)[0]
        channel = rng.choice(channel_ids)
        attempts = [{"channel_id": channel, "status": status, "error": "", "latency_ms": 40}]
        model = rng.choice(MODELS)
        prompt, completion = rng.randint(5, 2000), rng.randint(0, 800)
        yield (
            start + dt.timedelta(seconds=n * step + rng.random() * step),
            f"{rng.getrandbits(128):032x}",
            rng.choice(token_ids),
            "10.0.0.7",
            "/v1/chat/completions",
            model,
            model if n % 4 else f"{model}-2025",
            channel,
            json.dumps(attempts),
            status,
            "" if status < 400 else "upstream said no",
            n % 3 == 0,
            prompt,
            completion,
            prompt + completion,
            n % 50 == 0,
            False,
            (prompt * 150 + completion * 600) * 1000,
            rng.randint(80, 4000),
            rng.randint(30, 900) if n % 3 == 0 else None,
        )


def _seed(rows: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from channels_admin.services import channel_create
    from tokens.services import token_create
    from usage.services import COLUMNS

    token_ids = [token_create(name=f"Team {n:02d}")[0].pk for n in range(TOKENS)]
    channel_ids = [
        channel_create(
            name=f"Channel {n}", base_url="https://api.example.net/v1", key="sk-x", models=MODELS
        ).pk
        for n in range(CHANNELS)
    ]
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    table = connection.ops.quote_name("usage_usagerecord")
    columns = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    source = _seed_rows(rows, now, token_ids, channel_ids)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in source:
                copy.write_row(row)
        raw.commit()
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    else:
        adapt = connection.ops.adapt_datetimefield_value
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['?'] * len(COLUMNS))})"
        connection.ensure_connection()
        raw = connection.connection
        chunk: list[tuple[Any, ...]] = []
        with transaction.atomic():
            for row in source:
                chunk.append((adapt(row[0]), *row[1:]))
                if len(chunk) >= INSERT_CHUNK:
                    raw.executemany(sql, chunk)
                    chunk.clear()
            if chunk:
                raw.executemany(sql, chunk)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "seconds": time.perf_counter() - started,
        "token_ids": token_ids,
        "channel_ids": channel_ids,
    }


def _timed(work: Callable[[], Any]) -> tuple[float, float]:
    """(median, worst) seconds over REPEATS runs after one warm-up."""
    work()
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), max(runs)


def _plan(params: dict[str, str]) -> str:
    """Which index the database picks for the page's query (first line of its plan)."""
    from django.db import connection

    from usage.selectors import (
        Cursor,
        filter_records,
        older_than,
        parse_log_filters,
        status_is_rare,
    )

    filters, _ = parse_log_filters(params)
    records = filter_records(filters, status_by_index=status_is_rare(filters))
    if position := Cursor.parse(params.get("before")):
        records = older_than(records, position)
    sql, values = records[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN {sql}", values)
            lines = [row[0] for row in cursor.fetchall()]
            scans = [line.strip() for line in lines if "Scan" in line]
            return str(scans[0] if scans else lines[0]).split("  (")[0][:70]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", values)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())[:70]


def _measure(rows: int) -> None:
    import django

    django.setup()
    from asgiref.sync import async_to_sync
    from django.conf import settings

    # The pages name static files; the manifest would need a collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from usage.log_export import csv_stream
    from usage.log_views import COUNT_CAP, PAGE_SIZE
    from usage.models import UsageRecord
    from usage.retention import purge_expired
    from usage.selectors import (
        Cursor,
        UsageFilters,
        capped_count,
        log_page,
        parse_log_filters,
    )

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    print(f"\n=== {vendor}: seeding {rows:,} usage records")
    seeded = _seed(rows)
    print(f"seeded in {seeded['seconds']:.1f} s ({rows / seeded['seconds']:,.0f} rows/s)")

    user = get_user_model().objects.create_user("bench", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    deep = (
        UsageRecord.objects.order_by("-created_at", "-id")
        .values_list("created_at", "id")[rows * 9 // 10 : rows * 9 // 10 + 1]
        .get()
    )
    deep_cursor = str(Cursor(deep[0], deep[1]))
    one_id = UsageRecord.objects.order_by("id").values_list("request_id", flat=True)[rows // 2]
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).date()
    cases: list[tuple[str, dict[str, str]]] = [
        ("first page, no filter", {}),
        ("token", {"token": str(seeded["token_ids"][7])}),
        ("model", {"model": MODELS[3]}),
        ("channel", {"channel": str(seeded["channel_ids"][2])}),
        ("status success", {"status": "success"}),
        ("status client error", {"status": "client"}),
        ("status upstream error", {"status": "upstream"}),
        ("status exact 503", {"status": "503"}),
        ("last hour", {"range": "1h"}),
        ("last 24 hours", {"range": "24h"}),
        ("last 7 days", {"range": "7d"}),
        ("custom day", {"since": day.isoformat(), "until": day.isoformat()}),
        ("deep keyset page (90%)", {"before": deep_cursor}),
        ("deep page + token", {"before": deep_cursor, "token": str(seeded["token_ids"][7])}),
        ("token + upstream error", {"token": str(seeded["token_ids"][7]), "status": "upstream"}),
        ("request-id search", {"q": one_id}),
    ]

    def page_query(params: dict[str, str]) -> Callable[[], Any]:
        def run() -> None:
            filters, errors = parse_log_filters(params)
            assert not errors, errors
            page = log_page(filters, before=Cursor.parse(params.get("before")), size=PAGE_SIZE)
            if "before" not in params:
                capped_count(filters, COUNT_CAP)
            assert page.records is not None

        return run

    def view(params: dict[str, str]) -> Callable[[], Any]:
        def run() -> None:
            response = client.get("/logs/", params)
            assert response.status_code in (200, 302), response.status_code

        return run

    print(f"{'case':<28} {'query med/max (s)':>19} {'view med/max (s)':>18}  plan")
    worst = 0.0
    for name, params in cases:
        query_median, query_max = _timed(page_query(params))
        view_median, view_max = _timed(view(params))
        worst = max(worst, view_median)
        print(
            f"{name:<28} {query_median:>8.4f} / {query_max:<8.4f} "
            f"{view_median:>7.4f} / {view_max:<8.4f}  {_plan(params)}"
        )
    verdict = "OK" if worst < TARGET_SECONDS else "SLOW"
    print(f"slowest view (median): {worst:.4f} s, target < {TARGET_SECONDS} s: {verdict}")

    async def consume(filters: UsageFilters) -> tuple[int, int]:
        size = lines = 0
        async for chunk in csv_stream(filters, currency="USD"):
            size += len(chunk)
            lines += chunk.count("\n")
        return size, lines

    # The whole table, untraced: the time, and the process's peak memory before and after
    # (unchanged when the export runs in constant memory).
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    size, lines = async_to_sync(consume)(UsageFilters())
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"CSV export, every record: {lines - 1:,} rows, {size / 1e6:.0f} MB in {seconds:.1f} s "
        f"({(lines - 1) / seconds:,.0f} rows/s); process peak RSS {rss_before / 1024:.0f} MB "
        f"before, {rss_after / 1024:.0f} MB after"
    )
    # Python's own allocations while exporting 10x fewer and all the rows (tracemalloc is slow).
    for traced_rows in sorted({max(1, rows // 10), rows}):
        since = (
            UsageRecord.objects.order_by("-created_at", "-id")
            .values_list("created_at", flat=True)[traced_rows - 1 : traced_rows]
            .get()
        )
        tracemalloc.start()
        async_to_sync(consume)(UsageFilters(since=since))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"CSV export of {traced_rows:,} rows: traced Python peak {peak / 1e6:.1f} MB")

    started = time.perf_counter()
    deleted = purge_expired(days=DAYS // 2)
    seconds = time.perf_counter() - started
    print(
        f"retention purge ({DAYS // 2} of {DAYS} days): {deleted:,} deleted in {seconds:.1f} s, "
        f"in batches of 5,000 ({seconds / max(1, deleted / 5000):.3f} s a batch)"
    )


def _postgres_scratch(url: str) -> tuple[str, Callable[[], None]]:
    """A throwaway database beside the one `url` names, and how to drop it."""
    import psycopg

    name = f"tollgate_bench_usage_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def _child(database_url: str, rows: int) -> int:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "gateway.settings"}
    command = [sys.executable, "-m", "bench.usage_logs", "--child", "--rows", str(rows)]
    return subprocess.call(command, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=int(os.environ.get("BENCH_USAGE_ROWS") or 1_000_000)
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _measure(args.rows)
        return 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-usage-") as scratch:
        failed |= _child(f"sqlite:///{Path(scratch) / 'usage.sqlite3'}", args.rows)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        scratch_url, drop = _postgres_scratch(url)
        try:
            failed |= _child(scratch_url, args.rows)
        finally:
            drop()
    else:
        print("\n(PostgreSQL skipped: set DATABASE_URL=postgres://… to time it too)")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
