from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import Token
from tokens.services import token_create

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Renamed",
    "group": "vip",
    "status": "enabled",
    "expires_at": "",
    "allowed_ips": "",
}


def _token() -> Token:
    token, _ = token_create(name="Original", expires_at="2031-02-03T04:05:06Z")
    return token


def test_it_sends_anonymous_visitors_to_login() -> None:
    token = _token()
    url = f"/tokens/{token.pk}/update/"
    assert_login_redirect(Client().post(url, FORM), url)
    assert Token.objects.get().name == "Original"


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token = _token()
    assert_forbidden(plain_client.post(f"/tokens/{token.pk}/update/", FORM))
    assert Token.objects.get().name == "Original"


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(f"/tokens/{_token().pk}/update/").status_code == 405


def test_it_saves_and_returns_to_the_list(staff_client: Client) -> None:
    token = _token()
    response = staff_client.post(
        f"/tokens/{token.pk}/update/",
        {**FORM, "status": "disabled", "allowed_ips": "127.0.0.1", "expires_at": ""},
        follow=True,
    )
    assert response.redirect_chain == [("/tokens/", 302)]
    assert "Token “Renamed” saved." in response.content.decode()
    token.refresh_from_db()
    assert (token.name, token.group, token.status) == ("Renamed", "vip", "disabled")
    assert token.allowed_ips == ["127.0.0.1/32"]
    assert token.expires_at is None


def test_an_untouched_expiry_keeps_its_seconds(staff_client: Client) -> None:
    token = _token()
    staff_client.post(f"/tokens/{token.pk}/update/", {**FORM, "expires_at": "2031-02-03T04:05"})
    token.refresh_from_db()
    assert token.name == "Renamed"
    assert token.expires_at == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_bad_input_shows_errors_and_saves_nothing(staff_client: Client) -> None:
    token = _token()
    response = staff_client.post(
        f"/tokens/{token.pk}/update/", {**FORM, "allowed_ips": "10.0.0.300"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "“10.0.0.300” is not an IP address or CIDR range." in body
    assert 'value="Renamed"' in body
    token.refresh_from_db()
    assert token.name == "Original"
    assert token.group == "default"
