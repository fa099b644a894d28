"""/logs/export.csv: the filtered records as CSV, streamed from an async iterator in batches,
in constant memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
import warnings
from typing import Any

from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from tests.support.factories import make_channel, make_token
from tests.support.pages import assert_forbidden, assert_login_redirect
from tests.usage.log_records import T0, make_record, make_records
from usage.log_export import HEADER, csv_stream, safe_cell
from usage.selectors import UsageFilters

URL = "/logs/export.csv"


def rows_of(response: Any) -> list[dict[str, str]]:
    async def read() -> str:
        return "".join([part.decode() async for part in response.streaming_content])

    text = async_to_sync(read)()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    assert_login_redirect(Client().get(URL), URL)


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(URL))


def test_it_is_an_async_stream_sent_as_an_attachment(staff_client: Client) -> None:
    make_record()
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert response.streaming
    # A sync iterator would be read whole into memory under ASGI before the first byte.
    assert response.is_async
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tollgate-usage-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows_of(response)


def test_it_holds_every_field_newest_first(staff_client: Client) -> None:
    token = make_token(name="Team Blue").token
    channel = make_channel(name="Azure East")
    make_record(request_id="older", created_at=T0)
    make_record(
        request_id="newer",
        created_at=T0.replace(second=5),
        token_id=token.pk,
        channel_id=channel.pk,
        upstream_model="gpt-4o-mini-2024",
        attempts=[
            {"channel_id": 99, "status": 502, "error": "x", "latency_ms": 3},
            {"channel_id": channel.pk, "status": 200, "error": None, "latency_ms": 9},
        ],
        stream=True,
        estimated=True,
        cost=1_500_000,
    )

    rows = rows_of(staff_client.get(URL))

    assert [row["request_id"] for row in rows] == ["newer", "older"]
    row = rows[0]
    assert list(row) == list(HEADER)
    assert row["time"] == "2025-03-01T12:00:05.000+00:00"
    assert row["token"] == f"Team Blue ({token.prefix}…)"
    assert row["token_id"] == str(token.pk)
    assert row["channel"] == "Azure East"
    assert row["attempts"] == f"99:502 > {channel.pk}:200"
    assert row["upstream_model"] == "gpt-4o-mini-2024"
    assert row["stream"] == "true" and row["estimated"] == "true"
    assert row["cost"] == "0.0015" and row["currency"] == "USD"
    assert row["latency_ms"] == "15" and row["first_byte_ms"] == "9"


def test_it_applies_the_filters(staff_client: Client) -> None:
    make_record(request_id="a", token_id=1, status=200)
    make_record(request_id="b", token_id=2, status=502)
    make_record(request_id="c", token_id=2, status=200)

    rows = rows_of(staff_client.get(URL, {"token": "2", "status": "upstream"}))

    assert [row["request_id"] for row in rows] == ["b"]


def test_cells_a_spreadsheet_would_run_are_defused(staff_client: Client) -> None:
    make_record(
        request_id='=HYPERLINK("http://evil")',
        requested_model="+cmd",
        upstream_model="@SUM(A1)",
        error='-1, "quoted", and\nnewline',
    )

    row = rows_of(staff_client.get(URL))[0]

    assert row["request_id"] == '\'=HYPERLINK("http://evil")'
    assert row["requested_model"] == "'+cmd"
    assert row["upstream_model"] == "'@SUM(A1)"
    assert row["error"] == '\'-1, "quoted", and\nnewline'
    assert safe_cell(-1) == -1 and safe_cell("plain") == "plain"


def test_the_async_client_gets_it_streamed_as_under_asgi(alice: Any) -> None:
    make_records(5)

    async def fetch() -> tuple[bool, list[bytes]]:
        client = AsyncClient()
        await client.aforce_login(alice)
        response = await client.get(URL)
        return response.is_async, [part async for part in response.streaming_content]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        is_async, parts = async_to_sync(fetch)()

    # Django warns when it has to read a synchronous iterator whole under ASGI.
    assert not [w for w in caught if "synchronous iterators" in str(w.message)]

    assert is_async
    assert parts[0].decode().startswith("\ufefftime,request_id")
    assert b"".join(parts).count(b"\r\n") == 6


def test_batches_follow_each_other_without_gaps_or_repeats(db: None) -> None:
    make_records(25)
    make_records(5, start=T0)  # five more at the same moments: ties broken by id

    async def read() -> list[str]:
        text = "".join(
            [part async for part in csv_stream(UsageFilters(), currency="USD", batch_size=4)]
        )
        return [row["request_id"] for row in csv.DictReader(io.StringIO(text[1:]))]

    ids = async_to_sync(read)()

    assert len(ids) == 30
    assert sorted(ids) == sorted([f"r{n}" for n in range(25)] + [f"r{n}" for n in range(5)])


def _peak_while_reading(rows: int) -> int:
    async def consume() -> int:
        lines = 0
        async for part in csv_stream(UsageFilters(), currency="USD", batch_size=500):
            lines += part.count("\n")
        return lines

    tracemalloc.start()
    try:
        lines = async_to_sync(consume)()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == rows + 1
    return peak


def test_memory_does_not_grow_with_the_rows(db: None) -> None:
    make_records(2_000)
    small = _peak_while_reading(2_000)
    make_records(18_000, start=T0.replace(year=2024))
    large = _peak_while_reading(20_000)

    # Ten times the rows: the peak is one batch's worth either way (a whole read would be
    # about ten times the small peak).
    assert large < small * 1.5, (small, large)
    assert large < 8_000_000
