from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import Token
from tokens.services import token_find

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Team A",
    "group": "default",
    "status": "enabled",
    "expires_at": "",
    "allowed_ips": "",
}


def _create(client: Client, **changes: Any) -> Any:
    return client.post("/tokens/create/", {**VALID, **changes})


def _shown_key(body: str) -> str:
    marker = 'id="new-key" class="mono secret" value="'
    start = body.index(marker) + len(marker)
    return body[start : body.index('"', start)]


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(_create(Client()), "/tokens/create/")
    assert not Token.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(_create(plain_client))
    assert not Token.objects.exists()


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get("/tokens/create/").status_code == 405


def test_it_needs_the_csrf_token(staff_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert _create(client).status_code == 403
    assert not Token.objects.exists()


def test_it_shows_the_key_once_with_the_base_url(staff_client: Client) -> None:
    response = staff_client.post("/tokens/create/", VALID, HTTP_HOST="gw.example.org")
    assert response.status_code == 200
    body = response.content.decode()
    key = _shown_key(body)
    assert key.startswith("sk-") and len(key) == 51
    assert "shown only this once" in body
    assert 'data-copy="new-key"' in body
    assert 'value="http://gw.example.org/v1"' in body
    assert f"OPENAI_API_KEY={key}" in body
    assert "no-store" in response["Cache-Control"]

    token = Token.objects.get()
    assert token_find(key) == token
    assert key not in (token.key_hash, token.prefix)
    assert token.prefix == key[: len(token.prefix)]
    for value in Token.objects.values().get().values():
        assert key not in str(value)

    for url in ("/tokens/", f"/tokens/{token.pk}/edit/", f"/tokens/{token.pk}/confirm-delete/"):
        later = staff_client.get(url).content.decode()
        assert key not in later
        assert key[len(token.prefix) :] not in later


def test_the_key_is_not_kept_in_the_session_or_cookies(staff_client: Client) -> None:
    key = _shown_key(_create(staff_client).content.decode())
    assert key not in str(dict(staff_client.session.items()))
    assert all(key not in morsel.value for morsel in staff_client.cookies.values())


def test_it_saves_every_field(staff_client: Client, make_channel: Callable[..., Any]) -> None:
    make_channel(models=["gpt-4o", "gpt-4o-mini"])
    response = _create(
        staff_client,
        name="  Team B ",
        group="vip",
        status="disabled",
        expires_at="2031-02-03T04:05",
        models=["gpt-4o"],
        allowed_ips="10.0.0.0/8\r\n192.168.1.7",
    )
    assert response.status_code == 200
    token = Token.objects.get()
    assert token.name == "Team B"
    assert token.group == "vip"
    assert token.status == "disabled"
    assert token.expires_at == datetime(2031, 2, 3, 4, 5, tzinfo=UTC)
    assert token.allowed_models == ["gpt-4o"]
    assert token.allowed_ips == ["10.0.0.0/8", "192.168.1.7/32"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"allowed_ips": "10.0.0.1\nnot-an-ip"}, "allowed_ips", "is not an IP address"),
        ({"expires_at": "next tuesday"}, "expires_at", "Enter an ISO 8601 date"),
        ({"status": "paused"}, "status", "Select a valid choice"),
        ({"models": ["not-served"]}, "models", "Select a valid choice"),
        ({"group": "   "}, "group", "This field is required."),
    ],
)
def test_bad_input_shows_errors_beside_fields_and_saves_nothing(
    staff_client: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    response = _create(staff_client, **changes)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved. Please correct the errors below." in body
    errors_at = body.index(f'id="id_{field}_errors"')
    assert message in body[errors_at : errors_at + 300]
    assert "new-key" not in body
    assert not Token.objects.exists()


def test_a_bad_form_keeps_what_was_typed(staff_client: Client) -> None:
    body = _create(staff_client, name="Keep me", allowed_ips="bogus").content.decode()
    assert 'value="Keep me"' in body
    assert ">\nbogus</textarea>" in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"expires_at": "9999-12-31T23:59:59-12:00"},
            "expires_at",
            "up to, but not including, 9999-01-01",
        ),
        ({"expires_at": "0001-01-01T00:00:00+14:00"}, "expires_at", "from 2000-01-01"),
        ({"expires_at": "9999-12-31T23:59"}, "expires_at", "9999-01-01"),
        ({"expires_at": "0001-01-01T00:00"}, "expires_at", "2000-01-01"),
        ({"name": "Team\x00A"}, "name", "Null characters are not allowed."),
        ({"group": "vip\x00"}, "group", "Null characters are not allowed."),
        ({"allowed_ips": "10.0.0.1\x00"}, "allowed_ips", "Null characters are not allowed."),
        ({"expires_at": "2031-01-01\x00"}, "expires_at", "Null characters are not allowed."),
        ({"models": ["gpt\x00"]}, "models", "Select a valid choice"),
        ({"name": "n" * 101}, "name", "at most 100 characters"),
        ({"group": "g" * 65}, "group", "at most 64 characters"),
        (
            {"allowed_ips": "\n".join(f"10.0.0.{i}" for i in range(101))},
            "allowed_ips",
            "At most 100 addresses or ranges.",
        ),
    ],
)
def test_input_a_database_would_refuse_gets_a_field_error(
    staff_client: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    response = _create(staff_client, **changes)
    assert response.status_code == 200
    body = response.content.decode()
    errors_at = body.index(f'id="id_{field}_errors"')
    assert message in body[errors_at : errors_at + 300]
    assert not Token.objects.exists()
