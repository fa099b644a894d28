"""Keeping the usage aggregates current: a batch of records folded into per-hour and per-day
totals (by token, group, model and channel), per-channel attempt counts, latency buckets and
errors, in the transaction that writes the records (services.store_usage).

One upsert per table and batch (`INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n`,
on SQLite and PostgreSQL alike): concurrent writers in several processes add up, never
overwrite. The dashboard reads only these tables; a test checks they agree with the records.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

# The buckets' bounds live with their reader (channels_admin may not import usage).
from channels_admin.health import LATENCY_BOUNDS_MS as LATENCY_BOUNDS_MS
from channels_admin.health import latency_bucket
from channels_admin.models import (
    MAX_AGGREGATED_ERROR,
    ChannelError,
    ChannelHourly,
    ChannelLatency,
    LatencyKind,
)
from usage.entries import UsageEntry
from usage.models import MAX_MODEL, UsageDaily, UsageHourly
from usage.quota import Period

TOTAL_FIELDS = (
    "requests",
    "successes",
    "client_errors",
    "upstream_errors",
    "client_closed",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "latency_ms",
    "first_byte_ms",
    "first_byte_count",
)
CLIENT_CLOSED = 499


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _totals(entry: UsageEntry) -> list[int]:
    status = entry.status
    return [
        1,
        int(200 <= status < 300),
        int(400 <= status < 500 and status != CLIENT_CLOSED),
        int(status >= 500),
        int(status == CLIENT_CLOSED),
        max(entry.prompt_tokens, 0),
        max(entry.completion_tokens, 0),
        max(entry.cost, 0),
        max(entry.latency_ms, 0),
        max(entry.first_byte_ms or 0, 0),
        int(entry.first_byte_ms is not None),
    ]


def _add(into: dict[tuple[Any, ...], list[int]], key: tuple[Any, ...], values: list[int]) -> None:
    known = into.get(key)
    if known is None:
        into[key] = values
    else:
        for index, value in enumerate(values):
            known[index] += value


def roll_up(entries: Sequence[UsageEntry]) -> None:
    """Fold the batch into the aggregate tables (call inside the records' transaction)."""
    hourly: dict[tuple[Any, ...], list[int]] = {}
    daily: dict[tuple[Any, ...], list[int]] = {}
    channels: dict[tuple[Any, ...], list[int]] = {}
    latencies: Counter[tuple[Any, ...]] = Counter()
    errors: Counter[tuple[Any, ...]] = Counter()
    for entry in entries:
        hour = hour_of(entry.created_at)
        day = entry.day or Period.at(entry.created_at).day
        keys = (
            entry.token_id or 0,
            entry.group[:64],
            entry.requested_model[:MAX_MODEL],
            entry.channel_id or 0,
        )
        totals = _totals(entry)
        _add(hourly, (hour, *keys), totals)
        _add(daily, (day, *keys), list(totals))
        if entry.channel_id and entry.first_byte_ms is not None:
            bucket = latency_bucket(entry.first_byte_ms)
            latencies[(hour, entry.channel_id, LatencyKind.FIRST_BYTE.value, bucket)] += 1
        for attempt in entry.attempts:
            _fold_attempt(attempt, hour, channels, latencies, errors)
    _upsert(UsageHourly, ("hour", "token_id", "group", "model", "channel_id"), TOTAL_FIELDS, hourly)
    _upsert(UsageDaily, ("day", "token_id", "group", "model", "channel_id"), TOTAL_FIELDS, daily)
    _upsert(ChannelHourly, ("hour", "channel_id"), ("attempts", "successes"), channels)
    _upsert(
        ChannelLatency,
        ("hour", "channel_id", "kind", "bucket"),
        ("count",),
        {key: [count] for key, count in latencies.items()},
    )
    _upsert(
        ChannelError,
        ("hour", "channel_id", "status", "error"),
        ("count",),
        {key: [count] for key, count in errors.items()},
    )


def _fold_attempt(
    attempt: dict[str, Any],
    hour: dt.datetime,
    channels: dict[tuple[Any, ...], list[int]],
    latencies: Counter[tuple[Any, ...]],
    errors: Counter[tuple[Any, ...]],
) -> None:
    channel_id = attempt.get("channel_id")
    if not isinstance(channel_id, int) or channel_id <= 0:
        return
    status = attempt.get("status")
    succeeded = isinstance(status, int) and 200 <= status < 300
    _add(channels, (hour, channel_id), [1, int(succeeded)])
    latency = attempt.get("latency_ms")
    if isinstance(latency, int):
        latencies[(hour, channel_id, LatencyKind.LATENCY.value, latency_bucket(latency))] += 1
    if not succeeded:
        code = status if isinstance(status, int) and 0 < status < 1000 else 0
        error = str(attempt.get("error") or "")[:MAX_AGGREGATED_ERROR]
        errors[(hour, channel_id, code, error)] += 1


def _upsert(
    model: type[Model],
    key_fields: Sequence[str],
    sum_fields: Sequence[str],
    rows: dict[tuple[Any, ...], list[int]],
) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [*key_fields, *sum_fields]
    setters = ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + EXCLUDED.{quote(name)}" for name in sum_fields
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(name) for name in key_fields)}) DO UPDATE SET {setters}"
    )
    # Sorted: two writers upserting the same keys lock them in one order (no deadlock).
    ordered = sorted(rows.items(), key=lambda item: _sortable(item[0]))
    with connection.cursor() as cursor:
        cursor.executemany(sql, [_adapt(key) + tuple(values) for key, values in ordered])


def _sortable(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def _adapt(key: Iterable[Any]) -> tuple[Any, ...]:
    ops = connection.ops
    adapted: list[Any] = []
    for part in key:
        if isinstance(part, dt.datetime):
            adapted.append(ops.adapt_datetimefield_value(part))
        elif isinstance(part, dt.date):
            adapted.append(ops.adapt_datefield_value(part))
        else:
            adapted.append(part)
    return tuple(adapted)
