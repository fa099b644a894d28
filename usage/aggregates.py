"""Keeping the usage aggregates current: a batch of records folded into per-hour and per-day
totals (by token, group, model and channel), per-channel attempt counts, latency buckets and
errors, in the transaction that writes the records (services.store_usage).

One upsert per table and batch (`INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n`,
on SQLite and PostgreSQL alike): concurrent writers in several processes add up, never
overwrite. The dashboard reads only these tables; a test checks they agree with the records.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone

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
LATENCY = LatencyKind.LATENCY.value
FIRST_BYTE = LatencyKind.FIRST_BYTE.value
# Zones that are UTC at every moment: a UTC hour falls on one day in them.
UTC_ZONE_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"}
)
_UTC = dt.UTC
_HOUR = dt.timedelta(hours=1)
_NEVER = dt.datetime.max.replace(tzinfo=_UTC)


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def datetime_adapter() -> Callable[[Any], Any]:
    """`connection.ops.adapt_datetimefield_value`, quicker for the values the relay writes.

    On SQLite (in UTC, as Tollgate configures it) Django stores an aware datetime as the
    `str()` of its naive UTC time; for a UTC datetime that is its ISO form with a space and
    without the "+00:00", built here without Django's conversions (a third of the time).
    Anything else, and every other backend, is Django's own adaptation.
    """
    adapt: Callable[[Any], Any] = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or not settings.USE_TZ or connection.timezone is not _UTC:
        return adapt
    # Imported once SQLite's backend is (before it, the module cannot be imported alone).
    from django.db.backends.sqlite3.operations import DatabaseOperations

    if type(connection.ops).adapt_datetimefield_value is not (
        DatabaseOperations.adapt_datetimefield_value
    ):
        return adapt

    def adapt_utc(value: Any) -> Any:
        if value.__class__ is dt.datetime and value.tzinfo is _UTC:
            return value.isoformat(" ")[:-6]
        return adapt(value)

    return adapt_utc


def _is_utc(zone: dt.tzinfo) -> bool:
    if isinstance(zone, dt.timezone):
        return zone.utcoffset(None) == dt.timedelta(0)
    return isinstance(zone, zoneinfo.ZoneInfo) and zone.key in UTC_ZONE_NAMES


class Calendar:
    """Where a batch's moments fall: `hour_of(moment)` and `Period.at(moment)`, the same values.

    Worked out once per hour the batch spans (the relay's span one or two), not per record:
    per record they cost more than all the rest of its aggregation. A moment that is not
    aware UTC (never the relay's) goes the long way. A day is its hour's in a UTC zone,
    else the moment's own: an hour can straddle midnight elsewhere (India's +05:30).
    """

    def __init__(self) -> None:
        # Period.at reads the current zone per call; a batch is written in one thread at once.
        self._zone = timezone.get_current_timezone()
        self._utc_days = _is_utc(self._zone)
        self._start = self._end = _NEVER  # the hour placed last: [start, end)
        self._day = self._start.date()
        self._periods: dict[dt.date, Period] = {}

    def hour(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is not _UTC:
            return hour_of(moment)
        if not self._start <= moment < self._end:
            self._move(moment)
        return self._start

    def day(self, moment: dt.datetime) -> dt.date:
        """The moment's day in TOLLGATE_TIME_ZONE."""
        if moment.tzinfo is not _UTC:
            return Period.at(moment).day
        if not self._utc_days:
            return moment.astimezone(self._zone).date()
        if not self._start <= moment < self._end:
            self._move(moment)
        return self._day

    def period(self, moment: dt.datetime) -> Period:
        day = self.day(moment)
        period = self._periods.get(day)
        if period is None:
            period = self._periods[day] = Period(day=day, month=day.replace(day=1))
        return period

    def _move(self, moment: dt.datetime) -> None:
        self._start = hour_of(moment)
        self._end = self._start + _HOUR
        self._day = self._start.date()


def _totals(entries: Sequence[UsageEntry]) -> list[int]:
    """The TOTAL_FIELDS of records: column by column, each a sum of non-negative values."""
    successes = client_errors = upstream_errors = client_closed = 0
    for status, count in Counter([entry.status for entry in entries]).items():
        if 200 <= status < 300:
            successes += count
        elif status == CLIENT_CLOSED:
            client_closed += count
        elif 400 <= status < 500:
            client_errors += count
        elif status >= 500:
            upstream_errors += count
    first_bytes = [entry.first_byte_ms for entry in entries if entry.first_byte_ms is not None]
    return [
        len(entries),
        successes,
        client_errors,
        upstream_errors,
        client_closed,
        sum([value for entry in entries if (value := entry.prompt_tokens) > 0]),
        sum([value for entry in entries if (value := entry.completion_tokens) > 0]),
        sum([value for entry in entries if (value := entry.cost) > 0]),
        sum([value for entry in entries if (value := entry.latency_ms) > 0]),
        sum([value for value in first_bytes if value > 0]),
        len(first_bytes),
    ]


def _add(into: dict[tuple[Any, ...], list[int]], key: tuple[Any, ...], values: list[int]) -> None:
    known = into.get(key)
    if known is None:
        into[key] = values
    else:
        for index, value in enumerate(values):
            known[index] += value


def roll_up(entries: Sequence[UsageEntry], calendar: Calendar | None = None) -> None:
    """Fold the batch into the aggregate tables (call inside the records' transaction)."""
    calendar = calendar or Calendar()
    hour_at, day_at = calendar.hour, calendar.day
    # The records grouped by hour, day and key first, then summed group by group: a batch has
    # few groups, and adding up per record (a list of totals each) cost twice as much.
    groups: dict[tuple[Any, ...], list[UsageEntry]] = {}
    first_bytes: list[tuple[Any, ...]] = []
    tried: list[tuple[Any, ...]] = []
    latencies: list[tuple[Any, ...]] = []
    errors: list[tuple[Any, ...]] = []
    for entry in entries:
        hour = hour_at(entry.created_at)
        channel_id = entry.channel_id
        key = (
            hour,
            entry.day or day_at(entry.created_at),
            entry.token_id or 0,
            entry.group[:64],
            entry.requested_model[:MAX_MODEL],
            channel_id or 0,
        )
        group = groups.get(key)
        if group is None:
            groups[key] = [entry]
        else:
            group.append(entry)
        if channel_id and entry.first_byte_ms is not None:
            first_bytes.append((hour, channel_id, FIRST_BYTE, latency_bucket(entry.first_byte_ms)))
        if entry.attempts:
            _fold_attempts(entry.attempts, hour, tried, latencies, errors)
    hourly: dict[tuple[Any, ...], list[int]] = {}
    daily: dict[tuple[Any, ...], list[int]] = {}
    for (hour, day, *keys), group in groups.items():
        totals = _totals(group)
        _add(hourly, (hour, *keys), totals)
        _add(daily, (day, *keys), list(totals))
    channels: dict[tuple[Any, ...], list[int]] = {}
    for (hour, channel_id, succeeded), count in Counter(tried).items():
        _add(channels, (hour, channel_id), [count, count if succeeded else 0])
    counted = Counter(first_bytes)
    counted.update(latencies)
    adapt_time = datetime_adapter()
    _upsert(
        UsageHourly,
        ("hour", "token_id", "group", "model", "channel_id"),
        TOTAL_FIELDS,
        hourly,
        adapt_time,
    )
    _upsert(
        UsageDaily,
        ("day", "token_id", "group", "model", "channel_id"),
        TOTAL_FIELDS,
        daily,
        adapt_time,
    )
    _upsert(ChannelHourly, ("hour", "channel_id"), ("attempts", "successes"), channels, adapt_time)
    _upsert(
        ChannelLatency,
        ("hour", "channel_id", "kind", "bucket"),
        ("count",),
        {key: [count] for key, count in counted.items()},
        adapt_time,
    )
    _upsert(
        ChannelError,
        ("hour", "channel_id", "status", "error"),
        ("count",),
        {key: [count] for key, count in Counter(errors).items()},
        adapt_time,
    )


def _fold_attempts(
    attempts: list[dict[str, Any]],
    hour: dt.datetime,
    tried: list[tuple[Any, ...]],
    latencies: list[tuple[Any, ...]],
    errors: list[tuple[Any, ...]],
) -> None:
    for attempt in attempts:
        channel_id = attempt.get("channel_id")
        if not isinstance(channel_id, int) or channel_id <= 0:
            continue
        status = attempt.get("status")
        succeeded = isinstance(status, int) and 200 <= status < 300
        tried.append((hour, channel_id, succeeded))
        latency = attempt.get("latency_ms")
        if isinstance(latency, int):
            latencies.append((hour, channel_id, LATENCY, latency_bucket(latency)))
        if not succeeded:
            code = status if isinstance(status, int) and 0 < status < 1000 else 0
            error = str(attempt.get("error") or "")[:MAX_AGGREGATED_ERROR]
            errors.append((hour, channel_id, code, error))


def _upsert(
    model: type[Model],
    key_fields: Sequence[str],
    sum_fields: Sequence[str],
    rows: dict[tuple[Any, ...], list[int]],
    adapt_time: Callable[[Any], Any],
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
    # A key's first part is its hour or day, the rest plain values.
    first = adapt_time if isinstance(ordered[0][0][0], dt.datetime) else _adapt_date
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(first(key[0]), *key[1:], *values) for key, values in ordered])


def _sortable(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def _adapt_date(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)
