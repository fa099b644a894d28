"""GET|PATCH|DELETE /api/tokens/<id>"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.api import db_snapshot, error_of
from tests.support.factories import make_token
from tests.support.relay_tokens import relay_refusal
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_and_key(db: None) -> tuple[Token, str]:
    return make_token(name="Alice", models=["gpt-4o"], allowed_ips=["10.0.0.0/8"])


def url(token: Token | int) -> str:
    return f"/api/tokens/{token if isinstance(token, int) else token.pk}"


def patch(api: Client, token: Token, body: Any) -> Any:
    return api.patch(url(token), data=body, content_type="application/json")


def test_it_shows_a_token_without_its_key(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, key = token_and_key
    response = api.get(url(token))
    assert response.status_code == 200
    body = response.json()
    assert "key" not in body
    assert key.encode() not in response.content
    assert body["id"] == token.pk
    assert body["name"] == "Alice"
    assert body["models"] == ["gpt-4o"]
    assert body["allowed_ips"] == ["10.0.0.0/8"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_it_answers_404_for_an_unknown_id(
    api: Client, token_and_key: tuple[Token, str], method: str
) -> None:
    token, _ = token_and_key
    response = getattr(api, method)(
        url(token.pk + 1000), data={"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "token" in error["message"]
    assert Token.objects.get().name == "Alice"


@pytest.mark.parametrize("method", ["post", "put"])
def test_it_rejects_other_methods(
    api: Client, token_and_key: tuple[Token, str], method: str
) -> None:
    token, _ = token_and_key
    response = getattr(api, method)(url(token), data={}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, PATCH, DELETE"


def test_it_changes_only_the_given_fields(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, key = token_and_key
    response = patch(
        api, token, {"status": "disabled", "expires_at": "2030-01-01T00:00:00Z", "models": None}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "disabled"
    assert body["expires_at"] == "2030-01-01T00:00:00+00:00"
    assert body["models"] == []
    assert key.encode() not in response.content
    token.refresh_from_db()
    assert token.status == "disabled"
    assert token.name == "Alice"
    assert token.allowed_ips == ["10.0.0.0/8"]
    # The key itself survives any change: the relay still knows it, as a disabled token's.
    assert relay_refusal(key) == "token_disabled"


def test_it_clears_the_expiry(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, _ = token_and_key
    patch(api, token, {"expires_at": "2030-01-01T00:00:00Z"})
    assert patch(api, token, {"expires_at": None}).json()["expires_at"] is None
    token.refresh_from_db()
    assert token.expires_at is None


def test_it_tells_the_relay(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, _ = token_and_key
    before = db_snapshot()["relay_version"]
    patch(api, token, {"group": "vip"})
    assert db_snapshot()["relay_version"] > before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "on"}, "status"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"allowed_ips": ["1.2.3"]}, "allowed_ips"),
        ({"group": 3}, "group"),
        ({"models": "x", "key_hash": "0" * 64}, "key_hash"),
        ({"prefix": "sk-aaaaaaaa"}, "prefix"),
        ({"expires_at": "9999-12-31T23:59:59-12:00"}, "expires_at"),
        ({"expires_at": "0001-01-01T00:00:00+14:00"}, "expires_at"),
        ({"group": "vip\u0000"}, "group"),
        ({"models": ["\u0000"]}, "models"),
        ({"models": ["m"] * 1001}, "models"),
        ({"allowed_ips": ["::1\u0000"]}, "allowed_ips"),
        ({"allowed_ips": ["::1"] * 101}, "allowed_ips"),
    ],
)
def test_a_rejected_change_saves_nothing(
    api: Client, token_and_key: tuple[Token, str], changes: dict[str, Any], field: str
) -> None:
    token, _ = token_and_key
    before = db_snapshot()
    response = patch(api, token, {"name": "Should not stick", **changes})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["param"] == field
    assert list(error["fields"]) == [field]
    assert db_snapshot() == before


def test_it_rejects_a_non_object_body(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, _ = token_and_key
    response = api.patch(url(token), data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_it_deletes_a_token(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, key = token_and_key
    before = db_snapshot()["relay_version"]
    response = api.delete(url(token))
    assert response.status_code == 204
    assert response.content == b""
    assert not Token.objects.exists()
    assert relay_refusal(key) == "invalid_api_key"
    assert db_snapshot()["relay_version"] > before


@pytest.mark.parametrize("token_id", ["9223372036854775808", "9" * 40])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_id_past_any_integer_column_is_a_404(api: Client, token_id: str, method: str) -> None:
    response = getattr(api, method)(
        f"/api/tokens/{token_id}", data={"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("token_id", ["abc", "1.5", "-1", "%00", "1%0A"])
def test_an_id_that_is_not_a_number_is_a_404(api: Client, token_id: str) -> None:
    response = api.get(f"/api/tokens/{token_id}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_null_name_is_refused(api: Client, token_and_key: tuple[Token, str]) -> None:
    token, _ = token_and_key
    response = patch(api, token, {"name": None})
    assert response.status_code == 400
    assert error_of(response)["param"] == "name"
    assert Token.objects.get().name == "Alice"
