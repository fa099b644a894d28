"""GET /api/audit: the audit log for programs, by admin key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.api import error_of
from tests.support.audit import BOT, T0

URL = "/api/audit"
Record = Callable[..., AuditEvent]


def _names(response: Any) -> list[str]:
    return [event["object_repr"] for event in response.json()["data"]]


def test_it_needs_an_admin_key(db: None) -> None:
    response = Client().get(URL)
    assert response.status_code == 401
    assert error_of(response)["code"] == "missing_api_key"


def test_a_signed_in_admin_session_is_not_an_admin_key(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 401
    assert error_of(response)["code"] == "missing_api_key"


def test_it_is_read_only(api: Client) -> None:
    response = api.post(URL, data={}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_it_lists_events_newest_first(api: Client, record: Record) -> None:
    older = record(at=T0, object_repr="Primary", object_id=7, changes={"weight": [1, 2]})
    newer = record(
        at=T0 + dt.timedelta(hours=1),
        actor=BOT,
        action="changed",
        object_repr="Primary",
        object_id=7,
        changes={"key": "changed"},
    )
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["has_more"] is False
    assert (body["first_id"], body["last_id"]) == (newer.pk, older.pk)
    assert body["data"][0] == {
        "id": newer.pk,
        "object": "audit_event",
        "at": "2026-03-10T13:00:00+00:00",
        "actor_kind": "admin_key",
        "actor": "deploy bot (tg-ak-1234…)",
        "ip": "198.51.100.9",
        "action": "changed",
        "object_type": "channel",
        "object_id": "7",
        "object_repr": "Primary",
        "changes": {"key": "changed"},
        "detail": "",
    }
    assert body["data"][1]["changes"] == {"weight": [1, 2]}


def test_an_empty_log_is_an_empty_list(api: Client) -> None:
    assert api.get(URL).json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=prim", ["Primary"]),
        ("actor=deploy bot (tg-ak-1234…)", ["Backup"]),
        ("action=deleted", ["Backup"]),
        ("object_type=token", ["Token A"]),
        ("object_type=channel&object_id=7", ["Primary"]),
        ("since=2026-03-11", ["Token A", "Backup"]),
        ("until=2026-03-11", ["Backup", "Primary"]),
        ("since=2026-03-11T12:00:00Z&until=2026-03-11T12:00:00Z", ["Backup"]),
    ],
)
def test_it_filters(api: Client, record: Record, query: str, expected: list[str]) -> None:
    record(at=T0, object_repr="Primary", object_id=7)
    record(at=T0 + dt.timedelta(days=1), actor=BOT, action="deleted", object_repr="Backup")
    record(at=T0 + dt.timedelta(days=2), object_type="token", object_repr="Token A")
    response = api.get(URL, dict(pair.split("=", 1) for pair in query.split("&")))
    assert response.status_code == 200, response.content
    assert _names(response) == expected


def test_it_pages_with_limit_and_after(api: Client, record: Record) -> None:
    # Two events share a time: ties go by id, and no page loses or repeats one.
    for n in range(5):
        record(at=T0 + dt.timedelta(minutes=min(n, 3)), object_repr=f"e{n}")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        body = api.get(URL, params).json()
        seen += [event["object_repr"] for event in body["data"]]
        if not body["has_more"]:
            break
        params["after"] = body["last_id"]
    assert seen == ["e4", "e3", "e2", "e1", "e0"]


def test_paging_keeps_the_filters(api: Client, record: Record) -> None:
    for n in range(3):
        record(at=T0 + dt.timedelta(minutes=n), object_repr=f"t{n}", action="tested")
        record(at=T0 + dt.timedelta(minutes=n), object_repr=f"d{n}", action="deleted")
    first = api.get(URL, {"action": "tested", "limit": 2}).json()
    assert [e["object_repr"] for e in first["data"]] == ["t2", "t1"]
    rest = api.get(URL, {"action": "tested", "limit": 2, "after": first["last_id"]}).json()
    assert [e["object_repr"] for e in rest["data"]] == ["t0"]
    assert rest["has_more"] is False


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ({"limit": "0"}, "limit", "invalid_parameter"),
        ({"limit": "abc"}, "limit", "invalid_parameter"),
        ({"limit": "-1"}, "limit", "invalid_parameter"),
        ({"limit": "201"}, "limit", "invalid_parameter"),
        ({"limit": "٣"}, "limit", "invalid_parameter"),
        ({"limit": "9" * 40}, "limit", "invalid_parameter"),
        ({"after": "12abc"}, "after", "invalid_parameter"),
        ({"after": "999999"}, "after", "invalid_parameter"),
        ({"since": "2026-02-30"}, "since", "invalid_parameter"),
        ({"until": "tomorrow"}, "until", "invalid_parameter"),
        ({"since": "9999-12-31T23:59:59-12:00"}, "since", "invalid_parameter"),
        ({"until": "0001-01-01T00:00:00+14:00"}, "until", "invalid_parameter"),
        ({"q": "a\x00b"}, "q", "invalid_parameter"),
        ({"object_id": "x" * 201}, "object_id", "invalid_parameter"),
        ({"type": "channel"}, "type", "unknown_parameter"),
        ({"action": ["created", "deleted"]}, "action", "invalid_parameter"),
    ],
)
def test_bad_parameters_get_a_400_naming_them(
    api: Client, query: dict[str, Any], param: str, code: str
) -> None:
    response = api.get(URL, query)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        param,
        code,
    )
    assert param in error["message"]


def test_the_calendars_last_day_is_a_fine_end(api: Client, record: Record) -> None:
    record(object_repr="kept")
    response = api.get(URL, {"until": "9999-12-31"})
    assert response.status_code == 200
    assert _names(response) == ["kept"]
