"""The usage writer's shortcuts store exactly what Django's adaptation would.

store_usage writes with raw multi-row INSERTs and adapts values with cheaper equivalents of
the backend's adapters, and places records in their hour and day once per hour of a batch:
each must give the very values the ORM and `hour_of` / `Period.at` give.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from usage.aggregates import Calendar, datetime_adapter, hour_of
from usage.entries import UsageEntry
from usage.models import UsageRecord
from usage.quota import Period
from usage.services import COLUMNS, store_usage

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")  # +05:30: a UTC hour can straddle its midnight
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
T0 = dt.datetime(2025, 3, 9, 6, 59, 59, 999_999, tzinfo=dt.UTC)  # New York's spring forward

MOMENTS = [
    T0,
    T0.replace(microsecond=0),  # no fraction in its text
    dt.datetime(2025, 3, 1, 18, 29, 59, 999_999, tzinfo=dt.UTC),  # Kolkata's 23:59:59
    dt.datetime(2025, 3, 1, 18, 30, tzinfo=dt.UTC),  # Kolkata's midnight, the same UTC hour
    T0.astimezone(KOLKATA),
    T0.astimezone(NEW_YORK),
    dt.datetime(2025, 11, 2, 1, 30, fold=1, tzinfo=NEW_YORK),  # the repeated hour's second
    T0.astimezone(dt.timezone(dt.timedelta(hours=-3))),
    T0.astimezone(zoneinfo.ZoneInfo("UTC")),
]


@pytest.mark.django_db
def test_the_datetime_adapter_gives_the_backends_own_values() -> None:
    adapt = datetime_adapter()
    extremes = [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
    ]
    naive = dt.datetime(2025, 3, 1, 12, 0, 0, 5)  # never the relay's; still Django's value
    for moment in [*MOMENTS, *extremes, naive]:
        assert adapt(moment) == connection.ops.adapt_datetimefield_value(moment), moment


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York"])
def test_the_calendar_places_moments_as_hour_of_and_period_at_do(zone: str) -> None:
    rng = random.Random(zone)
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    # Every quarter hour of ten days (midnights, DST changes), in order, then shuffled: the
    # calendar keeps the hour it placed last, and must notice when a moment leaves it.
    moments = [start + dt.timedelta(minutes=15 * step, seconds=7) for step in range(960)]
    shuffled = rng.sample(moments, len(moments))
    with override_settings(TIME_ZONE=zone):
        for batch in (moments, shuffled, MOMENTS):
            calendar = Calendar()
            for moment in batch:
                assert calendar.hour(moment) == hour_of(moment), moment
                assert calendar.day(moment) == Period.at(moment).day, moment
                assert calendar.period(moment) == Period.at(moment), moment


def _entry(number: int, created_at: dt.datetime, client_ip: str | None) -> UsageEntry:
    return UsageEntry(
        created_at=created_at,
        request_id=f"writer-{number}",
        token_id=7,
        client_ip=client_ip,
        endpoint="/v1/chat/completions",
        requested_model="gpt-4o-mini",
        upstream_model="gpt-4o-mini-2024",
        channel_id=3,
        attempts=[
            {"channel_id": 2, "status": 502, "error": "bad gateway \u00e9", "latency_ms": 40},
            {"channel_id": 3, "status": 200, "error": None, "latency_ms": 900},
        ],
        status=200,
        stream=True,
        prompt_tokens=11,
        completion_tokens=22,
        total_tokens=33,
        estimated=True,
        unpriced=False,
        cost=1_500,
        latency_ms=950,
        first_byte_ms=120,
    )


def _stored(request_id: str) -> tuple[Any, ...]:
    """The row as the database holds it (as text on PostgreSQL: its own rendering)."""
    quote = connection.ops.quote_name
    columns = [column for column in COLUMNS if column != "request_id"]
    cast = "{}::text" if connection.vendor == "postgresql" else "{}"
    sql = (
        f"SELECT {', '.join(cast.format(quote(column)) for column in columns)} "
        f"FROM {quote(UsageRecord._meta.db_table)} WHERE {quote('request_id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [request_id])
        row = cursor.fetchone()
    assert row is not None, request_id
    return tuple(row)


@pytest.mark.django_db
def test_a_written_record_is_stored_as_the_orm_stores_it() -> None:
    addresses = {  # as given -> as the record keeps it
        "203.0.113.9": "203.0.113.9",
        "2001:DB8:0:0::0001": "2001:db8::1",
        # A link-local peer's interface is dropped: PostgreSQL's inet refuses it.
        "fe80::1%eth0": "fe80::1",
        # An IPv4 client on a dual-stack socket: written as Django writes it.
        "::ffff:192.0.2.7": "::ffff:192.0.2.7",
        "::FFFF:c000:0207": "::ffff:192.0.2.7",
        "not an address": None,
        None: None,
    }
    cases = [(moment, address) for moment in MOMENTS for address in addresses]
    entries = [_entry(number, *case) for number, case in enumerate(cases)]
    store_usage(entries)
    for entry, (_, address) in zip(entries, cases, strict=True):
        values = {column: getattr(entry, column) for column in COLUMNS}
        values.update(request_id=f"orm-{entry.request_id}", client_ip=addresses[address])
        UsageRecord.objects.create(**values)
        assert _stored(entry.request_id) == _stored(values["request_id"]), entry


@pytest.mark.django_db
def test_a_batch_is_written_and_logged_while_queries_are_logged() -> None:
    # The writer's SQLite shortcut (? markers, no rewriting) would break the query log.
    with CaptureQueriesContext(connection) as queries:
        store_usage([_entry(number, T0, "203.0.113.9") for number in range(3)])

    assert sorted(UsageRecord.objects.values_list("request_id", flat=True)) == [
        "writer-0",
        "writer-1",
        "writer-2",
    ]
    logged = [query["sql"] for query in queries if "writer-0" in query["sql"]]
    assert len(logged) == 1 and logged[0].startswith("INSERT INTO"), logged
