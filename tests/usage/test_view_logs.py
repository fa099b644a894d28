"""/logs/: usage records newest first, filtered in the URL, paged by keyset (no COUNT(*))."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.factories import make_channel, make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tests.usage.log_records import T0, make_record, make_records
from usage import log_views, selectors

URL = "/logs/"


def request_ids(response: Any) -> list[str]:
    """The listed records' request ids, top to bottom."""
    return re.findall(r'class="mono" title="([^"]*)"', response.content.decode())


def link(response: Any, label: str) -> str:
    """The href of the paging link named `label`."""
    found = re.search(
        rf'<a rel="(?:next|prev)" href="([^"]+)"[^>]*>{label}</a>', response.content.decode()
    )
    assert found, f"no {label} link"
    return found.group(1).replace("&amp;", "&")


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    assert_login_redirect(Client().get(URL), URL)


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(URL))


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


def test_an_empty_log_says_so(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert "No request has been recorded yet." in response.content.decode()


def test_the_nav_links_here(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert f'<a href="{URL}" aria-current="page">Logs</a>' in body


def test_it_shows_who_what_where_and_how_it_went(staff_client: Client) -> None:
    token = make_token(name="Team Blue").token
    channel = make_channel(name="Azure East")
    make_record(
        token_id=token.pk,
        channel_id=channel.pk,
        requested_model="gpt-4o",
        upstream_model="gpt-4o-2024-08-06",
        estimated=True,
        prompt_tokens=120,
        completion_tokens=33,
        latency_ms=812,
        first_byte_ms=140,
        cost=2_500_000,
    )

    body = staff_client.get(URL).content.decode()

    assert f'href="/tokens/{token.pk}/">Team Blue</a>' in body
    assert token.display_prefix in body
    assert "gpt-4o" in body and "→ gpt-4o-2024-08-06" in body
    assert f'href="/channels/{channel.pk}/">Azure East</a>' in body
    assert 'class="badge log-status-ok"' in body
    assert 'class="estimated"' in body and "120 / 33" in body
    assert "USD 0.0025" in body
    assert "812 ms" in body and "/ 140 ms" in body
    assert "1 record" in body


def test_an_unmapped_model_is_shown_once(staff_client: Client) -> None:
    make_record(requested_model="gpt-4o-mini", upstream_model="gpt-4o-mini")
    assert "→" not in staff_client.get(URL).content.decode().split("<tbody>")[1]


def test_a_deleted_token_or_channel_shows_its_id(staff_client: Client) -> None:
    make_record(token_id=9999, channel_id=8888)
    body = staff_client.get(URL).content.decode()
    assert "#9999 (deleted)" in body and "#8888 (deleted)" in body


def test_it_lists_newest_first(staff_client: Client) -> None:
    make_record(request_id="old", created_at=T0)
    make_record(request_id="new", created_at=T0 + dt.timedelta(seconds=1))
    assert request_ids(staff_client.get(URL)) == ["new", "old"]


def test_it_filters_by_token_model_and_channel(staff_client: Client) -> None:
    make_record(request_id="a", token_id=1, requested_model="m1", channel_id=10)
    make_record(request_id="b", token_id=2, requested_model="m2", channel_id=10)
    make_record(request_id="c", token_id=2, requested_model="m1", channel_id=11)

    assert request_ids(staff_client.get(URL, {"token": "2"})) == ["c", "b"]
    assert request_ids(staff_client.get(URL, {"model": "m1"})) == ["c", "a"]
    assert request_ids(staff_client.get(URL, {"channel": "10"})) == ["b", "a"]
    assert request_ids(staff_client.get(URL, {"token": "2", "model": "m1"})) == ["c"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", ["ok"]),
        ("client", ["closed", "limited"]),
        ("upstream", ["failed"]),
        ("429", ["limited"]),
    ],
)
def test_it_filters_by_status_class_or_exact_status(
    staff_client: Client, status: str, expected: list[str]
) -> None:
    for n, (request_id, code) in enumerate(
        [("ok", 200), ("limited", 429), ("closed", 499), ("failed", 502)]
    ):
        make_record(request_id=request_id, status=code, created_at=T0 + dt.timedelta(seconds=n))

    assert request_ids(staff_client.get(URL, {"status": status})) == expected


def test_a_time_preset_counts_back_from_now(staff_client: Client) -> None:
    now = timezone.now()
    make_record(request_id="recent", created_at=now - dt.timedelta(minutes=30))
    make_record(request_id="earlier", created_at=now - dt.timedelta(hours=3))
    make_record(request_id="last-week", created_at=now - dt.timedelta(days=3))

    assert request_ids(staff_client.get(URL, {"range": "1h"})) == ["recent"]
    assert request_ids(staff_client.get(URL, {"range": "24h"})) == ["recent", "earlier"]
    assert len(request_ids(staff_client.get(URL, {"range": "7d"}))) == 3


def test_a_custom_range_counts_the_last_day_whole(staff_client: Client) -> None:
    make_record(request_id="before", created_at=dt.datetime(2025, 2, 28, 23, 0, tzinfo=dt.UTC))
    make_record(request_id="first", created_at=dt.datetime(2025, 3, 1, 0, 0, tzinfo=dt.UTC))
    make_record(request_id="late", created_at=dt.datetime(2025, 3, 2, 23, 59, tzinfo=dt.UTC))
    make_record(request_id="after", created_at=dt.datetime(2025, 3, 3, 0, 0, tzinfo=dt.UTC))

    response = staff_client.get(URL, {"since": "2025-03-01", "until": "2025-03-02"})
    assert request_ids(response) == ["late", "first"]
    # A datetime-local input sends minutes, in the gateway's time zone.
    response = staff_client.get(URL, {"since": "2025-03-01T00:00", "until": "2025-03-02T12:00"})
    assert request_ids(response) == ["first"]


def test_a_bad_filter_is_named_and_the_others_still_apply(staff_client: Client) -> None:
    make_record(request_id="a", token_id=1)
    make_record(request_id="b", token_id=2)

    response = staff_client.get(URL, {"token": "2", "status": "teapot", "since": "yesterday"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Some filters could not be used:" in body
    assert "Status: Enter an HTTP status such as 429." in body
    assert "From: Enter a date" in body
    assert request_ids(response) == ["b"]


def test_a_fragment_request_gets_the_table_and_a_tidy_address(staff_client: Client) -> None:
    make_record(token_id=3)
    response = staff_client.get(URL, {"token": "3", "junk": "x"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="log-table"')
    assert response["HX-Push-Url"] == "/logs/?token=3"


def test_keyset_pages_walk_older_and_back_newer(staff_client: Client) -> None:
    make_records(120)  # r0 … r119, r119 the newest

    first = staff_client.get(URL)
    assert request_ids(first) == [f"r{n}" for n in range(119, 69, -1)]
    assert "Newer" not in first.content.decode()

    second = staff_client.get(link(first, "Older"))
    assert request_ids(second) == [f"r{n}" for n in range(69, 19, -1)]

    third = staff_client.get(link(second, "Older"))
    assert request_ids(third) == [f"r{n}" for n in range(19, -1, -1)]
    assert "Older</a>" not in third.content.decode()

    back = staff_client.get(link(third, "Newer"))
    assert request_ids(back) == request_ids(second)
    # Newer from the second page lands on a full first page.
    assert request_ids(staff_client.get(link(second, "Newer"))) == request_ids(first)


def test_records_of_the_same_moment_are_neither_lost_nor_repeated(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_views, "PAGE_SIZE", 3)
    for n in range(7):
        make_record(request_id=f"same{n}", created_at=T0)

    seen: list[str] = []
    response = staff_client.get(URL)
    while True:
        seen += request_ids(response)
        if "Older</a>" not in response.content.decode():
            break
        response = staff_client.get(link(response, "Older"))

    assert seen == [f"same{n}" for n in range(6, -1, -1)]


def test_paging_keeps_the_filters(staff_client: Client) -> None:
    make_records(60, token_id=5)
    make_records(60, token_id=6, start=T0 + dt.timedelta(hours=1))

    first = staff_client.get(URL, {"token": "5"})
    older = link(first, "Older")
    assert "token=5" in older
    assert all(int(rid[1:]) < 10 for rid in request_ids(staff_client.get(older)))


def test_a_spoiled_cursor_shows_the_first_page(staff_client: Client) -> None:
    make_records(3)
    assert request_ids(staff_client.get(URL, {"before": "nonsense"})) == ["r2", "r1", "r0"]


def test_it_never_counts_the_whole_table(staff_client: Client) -> None:
    make_records(60)
    with CaptureQueriesContext(connection) as queries:
        staff_client.get(URL)
    on_records = [q["sql"] for q in queries if "usage_usagerecord" in q["sql"]]
    assert on_records
    assert all("LIMIT" in sql for sql in on_records)


def test_past_the_cap_the_count_says_more_than(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_views, "COUNT_CAP", 5)
    make_records(6)
    assert "More than 5 records" in staff_client.get(URL).content.decode()


def test_a_request_id_found_once_opens_its_detail(staff_client: Client) -> None:
    record = make_record(request_id="req-abc")
    make_record(request_id="req-other")

    response = staff_client.get(URL, {"q": "req-abc"})
    assert response.status_code == 302
    assert response["Location"] == f"/logs/{record.pk}/"

    response = staff_client.get(URL, {"q": "req-abc"}, headers=HTMX)
    assert response["HX-Redirect"] == f"/logs/{record.pk}/"


def test_a_request_id_found_twice_lists_both(staff_client: Client) -> None:
    make_record(request_id="dup", status=502)
    make_record(request_id="dup", status=200, created_at=T0 + dt.timedelta(seconds=1))
    response = staff_client.get(URL, {"q": "dup"})
    assert response.status_code == 200
    assert request_ids(response) == ["dup", "dup"]


def test_the_csv_link_keeps_the_filters(staff_client: Client) -> None:
    body = staff_client.get(URL, {"token": "4", "status": "upstream", "before": "1.1"}).content
    assert 'href="/logs/export.csv?token=4&amp;status=upstream"' in body.decode()


def test_it_escapes_what_it_shows(staff_client: Client) -> None:
    make_record(requested_model="<b>m</b>", upstream_model="<i>u</i>", request_id="<x>")
    body = staff_client.get(URL).content.decode()
    assert "<b>m</b>" not in body and "&lt;b&gt;m&lt;/b&gt;" in body


def test_the_page_reads_in_chinese(staff_client: Client) -> None:
    make_record(estimated=True)
    body = staff_client.get(URL, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "使用日志" in body
    assert "下载 CSV" in body
    assert "令牌" in body and "渠道" in body and "首字时间" in body


@pytest.mark.parametrize("common_past", [1, 10_000])
def test_a_common_status_walks_the_time_index_with_the_same_answer(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch, common_past: int
) -> None:
    monkeypatch.setattr(selectors, "COMMON_STATUS_ROWS", common_past)
    for n, code in enumerate([200, 502, 201, 200, 404]):
        make_record(request_id=f"s{n}", status=code, created_at=T0 + dt.timedelta(seconds=n))

    assert request_ids(staff_client.get(URL, {"status": "success"})) == ["s3", "s2", "s0"]
    assert request_ids(staff_client.get(URL, {"status": "200"})) == ["s3", "s0"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"token": "1"},
        {"model": "m"},
        {"channel": "1"},
        {"status": "upstream"},
        {"status": "success"},
        {"status": "429"},
        {"range": "24h"},
        {"since": "2025-03-01", "until": "2025-03-02"},
        {"q": "req-1"},
        {"before": "1740830400000000.5"},
        {"before": "1740830400000000.5", "token": "1"},
    ],
)
def test_every_filter_is_served_by_an_index(db: None, params: dict[str, str]) -> None:
    if connection.vendor != "sqlite":
        pytest.skip(
            "PostgreSQL plans tiny tables as sequential scans: "
            "bench/usage_logs.py shows its plans at a million rows"
        )
    make_records(50, status=200)
    make_records(50, status=502, start=T0 - dt.timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    filters, errors = selectors.parse_log_filters(params)
    assert not errors
    records = selectors.filter_records(filters, status_by_index=selectors.status_is_rare(filters))
    if position := selectors.Cursor.parse(params.get("before")):
        records = selectors.older_than(records, position)
    sql, values = records[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", values)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())

    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "SCAN usage_usagerecord |" not in f"{plan} |", plan
