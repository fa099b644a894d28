"""POST /api/tokens"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.support.api import db_snapshot, error_of
from tests.support.relay_tokens import relay_token
from tokens.models import Token

pytestmark = pytest.mark.django_db


def post(api: Client, body: Any) -> Any:
    return api.post("/api/tokens", data=body, content_type="application/json")


def test_it_creates_a_token_and_returns_its_key_once(api: Client) -> None:
    response = post(api, {"name": "Alice"})
    assert response.status_code == 201
    body = response.json()
    token = Token.objects.get()
    key = body["key"]
    assert key.startswith("sk-") and len(key) == 51
    assert body["id"] == token.pk
    assert body["name"] == "Alice"
    assert body["group"] == "default"
    assert body["status"] == "enabled"
    assert body["expires_at"] is None
    assert body["models"] == []
    assert body["allowed_ips"] == []
    assert body["prefix"] == key[:11] + "…"
    assert relay_token(key).id == token.pk


def test_the_key_is_stored_only_as_a_hash(api: Client) -> None:
    key = post(api, {"name": "Alice"}).json()["key"]
    row = Token.objects.values().get()
    assert all(key not in str(value) for value in row.values())
    assert row["key_hash"] != key


def test_it_accepts_every_field(api: Client) -> None:
    response = post(
        api,
        {
            "name": "Bob",
            "group": "vip",
            "expires_at": "2031-05-01T12:30:00+02:00",
            "models": ["gpt-4o", "gpt-4o", " gpt-4o-mini "],
            "allowed_ips": ["10.0.0.7", "192.168.1.9/24", "::1"],
            "status": "disabled",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["group"] == "vip"
    assert body["status"] == "disabled"
    assert body["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert body["allowed_ips"] == ["10.0.0.7/32", "192.168.1.0/24", "::1/128"]
    token = Token.objects.get()
    assert token.expires_at == datetime(2031, 5, 1, 10, 30, tzinfo=UTC)


def test_it_tells_the_relay(api: Client) -> None:
    before = db_snapshot()["relay_version"] or 0
    post(api, {"name": "Alice"})
    assert db_snapshot()["relay_version"] > before


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": 5}, "name", "non-empty string"),
        ({"name": "x" * 101}, "name", "100"),
        ({"name": "a", "group": ""}, "group", "non-empty"),
        ({"name": "a", "status": "paused"}, "status", "Unknown status"),
        ({"name": "a", "expires_at": "next tuesday"}, "expires_at", "ISO 8601"),
        ({"name": "a", "expires_at": "2030-13-45T00:00:00Z"}, "expires_at", "ISO 8601"),
        ({"name": "a", "expires_at": 1700000000}, "expires_at", "ISO 8601"),
        ({"name": "a", "models": [1]}, "models", "list of model names"),
        ({"name": "a", "allowed_ips": ["10.0.0.300"]}, "allowed_ips", "10.0.0.300"),
        ({"name": "a", "allowed_ips": ["10.0.0.0/40"]}, "allowed_ips", "CIDR"),
        ({"name": "a", "allowed_ips": {"ip": "1.2.3.4"}}, "allowed_ips", "IP addresses"),
        ({"name": "a", "key": "sk-choose-my-own"}, "key", "Unknown field"),
        ({"name": "a", "expires_at": "9999-12-31T23:59:59-12:00"}, "expires_at", "9999-01-01"),
        ({"name": "a", "expires_at": "0001-01-01T00:00:00+14:00"}, "expires_at", "2000-01-01"),
        ({"name": "a", "expires_at": "0001-01-01T00:00:00"}, "expires_at", "2000-01-01"),
        ({"name": "a\u0000"}, "name", "NUL"),
        ({"name": "a", "group": "vip\u0000"}, "group", "NUL"),
        ({"name": "a", "group": "g" * 65}, "group", "At most 64 characters"),
        ({"name": "a", "models": ["gpt-4o\u0000"]}, "models", "NUL"),
        ({"name": "a", "models": ["m" * 201]}, "models", "longer than 200 characters"),
        ({"name": "a", "models": [f"m{i}" for i in range(1001)]}, "models", "At most 1000"),
        ({"name": "a", "allowed_ips": ["10.0.0.1\u0000"]}, "allowed_ips", "NUL"),
        ({"name": "a", "allowed_ips": ["1" * 10_000]}, "allowed_ips", "not an IP address"),
        (
            {"name": "a", "allowed_ips": [f"10.0.{i // 256}.{i % 256}" for i in range(101)]},
            "allowed_ips",
            "At most 100",
        ),
        ({"name": "a", "status": "enabled\u0000"}, "status", "Unknown status"),
    ],
)
def test_it_names_the_bad_field(api: Client, body: dict[str, Any], field: str, words: str) -> None:
    before = db_snapshot()
    response = post(api, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == field
    assert list(error["fields"]) == [field]
    assert any(words in message for message in error["fields"][field]), error["fields"]
    assert field in error["message"]
    assert "key" not in response.json() or field == "key"
    assert db_snapshot() == before


def test_it_names_every_bad_field_at_once(api: Client) -> None:
    response = post(api, {"group": "", "status": "x", "allowed_ips": ["nope"], "extra": True})
    assert response.status_code == 400
    error = error_of(response)
    assert set(error["fields"]) == {"name", "group", "status", "allowed_ips", "extra"}
    for field in error["fields"]:
        assert field in error["message"]
    assert not Token.objects.exists()


@pytest.mark.parametrize("body", [b"", b"nope", b"[]", b"1", b'"name"'])
def test_it_rejects_bodies_that_are_not_json_objects(api: Client, body: bytes) -> None:
    response = api.post("/api/tokens", data=body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert not Token.objects.exists()


def test_the_calendar_edges_in_range_are_stored_and_read_back_in_utc(api: Client) -> None:
    for edge in ("2000-01-01T00:00:00Z", "9998-12-31T23:59:59-00:00"):
        response = post(api, {"name": edge, "expires_at": edge})
        assert response.status_code == 201
    listed = {item["name"]: item["expires_at"] for item in api.get("/api/tokens").json()["data"]}
    assert listed == {
        "2000-01-01T00:00:00Z": "2000-01-01T00:00:00+00:00",
        "9998-12-31T23:59:59-00:00": "9998-12-31T23:59:59+00:00",
    }


def test_the_created_answer_gives_the_expiry_in_utc(api: Client) -> None:
    body = post(api, {"name": "a", "expires_at": "2031-05-01T12:30:00+02:00"}).json()
    assert body["expires_at"] == "2031-05-01T10:30:00+00:00"
