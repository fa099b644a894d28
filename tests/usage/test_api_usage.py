"""GET /api/usage: the records, filtered, newest first, paged; bad parameters named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from usage.models import UsageRecord

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def make_record(**overrides: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "created_at": T0,
        "request_id": "req",
        "token_id": 1,
        "client_ip": "10.0.0.7",
        "endpoint": "/v1/chat/completions",
        "requested_model": "gpt-4o-mini",
        "upstream_model": "gpt-4o-mini-2024",
        "channel_id": 3,
        "attempts": [{"channel_id": 3, "status": 200, "error": None, "latency_ms": 12}],
        "status": 200,
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "latency_ms": 15,
        "first_byte_ms": 9,
        **overrides,
    }
    return UsageRecord.objects.create(**values)


def get(api: Client, **params: Any) -> Any:
    return api.get("/api/usage", params)


def ids(response: Any) -> list[str]:
    return [record["request_id"] for record in response.json()["data"]]


def test_it_shows_a_record_with_every_field_of_the_contract(api: Client) -> None:
    record = make_record()

    response = get(api)

    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {
                "id": record.pk,
                "created_at": "2025-03-01T12:00:00+00:00",
                "request_id": "req",
                "token_id": 1,
                "client_ip": "10.0.0.7",
                "endpoint": "/v1/chat/completions",
                "requested_model": "gpt-4o-mini",
                "upstream_model": "gpt-4o-mini-2024",
                "channel_id": 3,
                "attempts": [{"channel_id": 3, "status": 200, "error": None, "latency_ms": 12}],
                "status": 200,
                "error": "",
                "stream": False,
                "prompt_tokens": 5,
                "completion_tokens": 3,
                "total_tokens": 8,
                "estimated": False,
                "unpriced": True,
                "cost": "0",
                "latency_ms": 15,
                "first_byte_ms": 9,
            }
        ],
        "total": 1,
    }


def test_cost_is_a_decimal_string(api: Client) -> None:
    make_record(cost=12_500)  # core.money units: 0.0000125

    assert get(api).json()["data"][0]["cost"] == "0.0000125"


def test_it_lists_newest_first(api: Client) -> None:
    make_record(request_id="old", created_at=T0)
    make_record(request_id="new", created_at=T0 + dt.timedelta(minutes=1))
    make_record(request_id="mid", created_at=T0 + dt.timedelta(seconds=30))

    assert ids(get(api)) == ["new", "mid", "old"]


def test_it_filters_by_token_model_and_channel(api: Client) -> None:
    make_record(request_id="a", token_id=1, requested_model="m1", channel_id=1)
    make_record(request_id="b", token_id=2, requested_model="m1", channel_id=2)
    make_record(request_id="c", token_id=2, requested_model="m2", channel_id=2)

    assert ids(get(api, token=2)) == ["c", "b"]  # same time: the later record first
    assert ids(get(api, model="m1", channel=1)) == ["a"]
    assert get(api, token=2, model="m2").json()["total"] == 1


def test_it_filters_by_status_or_status_class(api: Client) -> None:
    make_record(request_id="ok", status=200)
    make_record(request_id="limited", status=429)
    make_record(request_id="bad-gateway", status=502)
    make_record(request_id="timeout", status=504)

    assert ids(get(api, status="429")) == ["limited"]
    assert sorted(ids(get(api, status="5xx"))) == ["bad-gateway", "timeout"]
    assert sorted(ids(get(api, status="4XX"))) == ["limited"]


def test_it_filters_by_time_both_ends_included(api: Client) -> None:
    for minute in range(4):
        make_record(request_id=f"m{minute}", created_at=T0 + dt.timedelta(minutes=minute))

    response = get(api, since="2025-03-01T12:01:00Z", until="2025-03-01T13:02:00+01:00")

    assert ids(response) == ["m2", "m1"]


def test_it_pages_and_counts_all_matches(api: Client) -> None:
    for second in range(7):
        make_record(request_id=f"r{second}", created_at=T0 + dt.timedelta(seconds=second))

    first = get(api, page_size=3)
    third = get(api, page_size=3, page=3)
    beyond = get(api, page_size=3, page=4)

    assert (ids(first), first.json()["total"]) == (["r6", "r5", "r4"], 7)
    assert (ids(third), third.json()["total"]) == (["r0"], 7)
    assert (ids(beyond), beyond.json()["total"]) == ([], 7)


def test_a_page_holds_50_by_default(api: Client) -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(created_at=T0, request_id=f"r{n}", endpoint="/v1/x", status=200)
        for n in range(51)
    )

    response = get(api)

    assert (len(response.json()["data"]), response.json()["total"]) == (50, 51)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"token": "abc"}, "token"),
        ({"channel": "1.5"}, "channel"),
        ({"status": "6xx"}, "status"),
        ({"status": "abc"}, "status"),
        ({"status": "99"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-13-01T00:00:00Z"}, "until"),
        ({"model": "x" * 300}, "model"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: Client, params: dict[str, str], param: str
) -> None:
    response = get(api, **params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert param in error["message"]
    assert set(error) >= {"message", "type", "param", "code"}


def test_a_parameter_given_twice_is_refused(api: Client) -> None:
    response = api.get("/api/usage?status=200&status=500")

    assert (response.status_code, response.json()["error"]["param"]) == (400, "status")


def test_it_needs_an_admin_key(db: None) -> None:
    make_record()

    response = Client().get("/api/usage")

    assert response.status_code == 401
    assert "data" not in response.json()


def test_it_allows_only_get(api: Client) -> None:
    response = api.post("/api/usage", {}, content_type="application/json")

    assert response.status_code == 405
