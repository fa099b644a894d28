"""/audit/: the audit log page, newest first, filtered and paged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.audit import BOT, T0
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

URL = "/audit/"
Record = Callable[..., AuditEvent]


def _rows(response: object) -> list[str]:
    """The object names of the listed events, top to bottom."""
    body = response.content.decode()  # type: ignore[attr-defined]
    return [
        cell.split("<strong>", 1)[1].split("</strong>", 1)[0]
        for cell in body.split('<tr id="event-')[1:]
    ]


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    assert_login_redirect(Client().get(URL), URL)


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(URL))


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


def test_an_empty_log_says_so(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert "Nothing has been recorded yet." in response.content.decode()


def test_the_nav_links_here(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert f'<a href="{URL}" aria-current="page">Audit log</a>' in body


def test_it_lists_newest_first_with_who_what_and_where(
    staff_client: Client, record: Record
) -> None:
    record(at=T0, object_repr="older", object_id=1)
    record(
        at=T0 + dt.timedelta(hours=1),
        actor=BOT,
        action="changed",
        object_repr="newer",
        object_id=2,
        changes={"weight": [1, 5], "key": "changed"},
        detail="Base URL checked",
    )
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert _rows(response) == ["newer", "older"]
    body = response.content.decode()
    assert "deploy bot (tg-ak-1234…)" in body and "Admin API key" in body
    assert "198.51.100.9" in body
    assert '<span class="audit-action" data-action="changed">Changed</span>' in body
    assert '<span class="old">1</span> → <span class="new">5</span>' in body
    assert '<span class="mono">key</span>: <em>changed</em>' in body
    assert "Base URL checked" in body
    assert "2 events" in body


def test_it_escapes_everything_it_shows(staff_client: Client, record: Record) -> None:
    record(
        object_repr="<script>alert(1)</script>",
        changes={"name": ["<b>old</b>", "<img src=x onerror=alert(1)>"]},
        detail="<i>detail</i>",
    )
    body = staff_client.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "<b>old</b>" not in body and "<i>detail</i>" not in body


def test_an_unknown_action_reads_as_itself(staff_client: Client, record: Record) -> None:
    record(action="price_set", object_type="price_rule", object_repr="gpt-4o")
    body = staff_client.get(URL).content.decode()
    assert 'data-action="price_set">Price set<' in body
    assert "Price rule" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=prim", ["Primary"]),
        ("q=deploy", ["Backup"]),
        ("q=7", ["Primary"]),
        ("actor=alice", ["Token A", "Primary"]),
        ("action=deleted", ["Backup"]),
        ("object_type=token", ["Token A"]),
        ("object_type=channel&actor=alice", ["Primary"]),
        ("since=2026-03-11", ["Token A", "Backup"]),
        ("until=2026-03-11", ["Backup", "Primary"]),
        ("since=2026-03-11&until=2026-03-11", ["Backup"]),
        ("since=2026-03-11T12:00:00Z&until=2026-03-12T00:00:00%2B00:00", ["Backup"]),
    ],
)
def test_it_filters(staff_client: Client, record: Record, query: str, expected: list[str]) -> None:
    record(at=T0, object_repr="Primary", object_id=7)
    record(at=T0 + dt.timedelta(days=1), actor=BOT, action="deleted", object_repr="Backup")
    record(at=T0 + dt.timedelta(days=2), object_type="token", object_repr="Token A")
    response = staff_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert _rows(response) == expected


def test_the_filters_offer_what_the_log_holds(staff_client: Client, record: Record) -> None:
    record(action="two_factor_enabled", object_type="user", object_repr="alice")
    body = staff_client.get(URL + "?action=two_factor_enabled").content.decode()
    assert (
        '<option value="two_factor_enabled" selected>Two-factor sign-in turned on</option>' in body
    )
    assert '<option value="user">Admin user</option>' in body
    assert '<option value="alice">alice</option>' in body


def test_paging_keeps_the_filters(staff_client: Client, record: Record) -> None:
    for n in range(52):
        record(at=T0 + dt.timedelta(minutes=n), object_repr=f"ch-{n:02d}", action="tested")
    record(at=T0 + dt.timedelta(days=9), object_repr="not-a-test", action="deleted")
    first = staff_client.get(URL + "?action=tested")
    assert _rows(first)[0] == "ch-51" and len(_rows(first)) == 50
    body = first.content.decode()
    assert "Page 1 of 2" in body
    href = body.split('<a rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert urlsplit(href).path == URL
    assert parse_qs(urlsplit(href).query) == {"action": ["tested"], "p": ["2"]}
    second = staff_client.get(href)
    assert _rows(second) == ["ch-01", "ch-00"]
    assert "Page 2 of 2" in second.content.decode()


def test_a_page_past_the_end_shows_the_last(staff_client: Client, record: Record) -> None:
    # Two pages, so the last is not the first.
    for n in range(52):
        record(at=T0 + dt.timedelta(minutes=n), object_repr=f"ch-{n:02d}")
    past_the_end = staff_client.get(URL + "?p=99")
    assert _rows(past_the_end) == ["ch-01", "ch-00"]
    assert "Page 2 of 2" in past_the_end.content.decode()
    # A page that is not a number is the first.
    assert _rows(staff_client.get(URL + "?p=abc"))[0] == "ch-51"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-02-30", "Enter a date (YYYY-MM-DD)"),
        ("until=yesterday", "Enter a date (YYYY-MM-DD)"),
        ("since=9999-12-31T23:59:59-12:00", "This date is out of range."),
        ("q=a%00b", "Control characters are not allowed."),
        ("actor=" + "x" * 201, "At most 200 characters."),
    ],
)
def test_a_bad_filter_is_explained_and_the_rest_still_apply(
    staff_client: Client, record: Record, query: str, message: str
) -> None:
    record(object_repr="kept", action="created")
    record(object_repr="filtered out", action="deleted")
    response = staff_client.get(f"{URL}?{query}&action=created")
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert _rows(response) == ["kept"]


def test_the_calendars_last_day_is_a_fine_end(staff_client: Client, record: Record) -> None:
    record(object_repr="kept")
    response = staff_client.get(URL + "?until=9999-12-31")
    assert response.status_code == 200
    assert _rows(response) == ["kept"]


def test_an_htmx_request_gets_only_the_table(staff_client: Client, record: Record) -> None:
    record(object_repr="Primary")
    response = staff_client.get(URL + "?q=prim", headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-table"')
    assert "<html" not in body
    assert _rows(response) == ["Primary"]
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_with_a_bad_filter_shows_the_note(staff_client: Client) -> None:
    response = staff_client.get(URL + "?since=nope", headers=HTMX)
    # htmx swaps only 2xx answers, so the note comes in a 200.
    assert response.status_code == 200
    assert "Enter a date (YYYY-MM-DD)" in response.content.decode()


def test_it_speaks_chinese(staff_client: Client, record: Record) -> None:
    record(action="two_factor_enabled", object_type="user", object_repr="alice")
    staff_client.post("/i18n/", {"language": "zh-hans", "next": URL})
    body = staff_client.get(URL).content.decode()
    assert "<h1>审计日志</h1>" in body
    assert 'data-action="two_factor_enabled">开启两步验证<' in body


def test_anonymous_visitors_go_to_the_login_page_whatever_the_method(db: None) -> None:
    assert_login_redirect(Client().post(URL), URL)


def test_htmx_gets_the_tidy_address_to_show(staff_client: Client) -> None:
    response = staff_client.get(URL + "?q=&actor=&action=deleted&since=&p=1", headers=HTMX)
    assert response["HX-Push-Url"] == URL + "?action=deleted"


def test_times_are_relative_with_the_exact_time_on_hover(
    staff_client: Client, record: Record
) -> None:
    record(at=T0)
    body = staff_client.get(URL).content.decode()
    assert f'<time datetime="{T0.isoformat()}" title="{T0:%Y-%m-%d %H:%M:%S} UTC">' in body
    assert " ago</time>" in body


def test_the_filter_button_speaks_chinese(staff_client: Client) -> None:
    body = staff_client.get(URL, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert '<button type="submit" class="button">筛选</button>' in body
