"""/tokens/<pk>/: the edit form (GET) and the save (POST)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.factories import make_channel, make_token
from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import Token

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Renamed",
    "group": "vip",
    "status": "enabled",
    "expires_at": "",
    "allowed_ips": "",
}


def _token() -> Token:
    return make_token(name="Original", expires_at=datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)).token


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    url = f"/tokens/{_token().pk}/"
    assert_login_redirect(getattr(Client(), method)(url), url)
    assert Token.objects.get().name == "Original"


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token = _token()
    assert_forbidden(plain_client.get(f"/tokens/{token.pk}/"))
    assert_forbidden(plain_client.post(f"/tokens/{token.pk}/", FORM))
    assert Token.objects.get().name == "Original"


def test_it_allows_only_get_and_post(staff_client: Client) -> None:
    assert staff_client.put(f"/tokens/{_token().pk}/").status_code == 405


def test_it_404s_for_an_unknown_token(staff_client: Client) -> None:
    assert staff_client.get("/tokens/999/").status_code == 404
    assert staff_client.post("/tokens/999/", FORM).status_code == 404


def test_it_shows_the_current_values_but_not_the_key(staff_client: Client) -> None:
    make_channel(models=["gpt-4o"])
    token, key = make_token(
        name="Team A",
        group="vip",
        expires_at=datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC),
        models=["gpt-4o", "retired-model"],
        allowed_ips=["10.0.0.0/8"],
    )
    body = staff_client.get(f"/tokens/{token.pk}/").content.decode()
    assert f'action="/tokens/{token.pk}/"' in body
    assert 'value="Team A"' in body
    assert 'value="vip"' in body
    assert 'value="2031-02-03T04:05"' in body
    assert ">\n10.0.0.0/8</textarea>" in body
    # A model no channel serves any more stays ticked, so saving does not drop it.
    assert 'value="retired-model"' in body
    assert body.count("checked") == 2
    assert token.display_prefix in body
    assert key not in body


def test_it_saves_and_returns_to_the_list(staff_client: Client) -> None:
    token = _token()
    response = staff_client.post(
        f"/tokens/{token.pk}/",
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
    staff_client.post(f"/tokens/{token.pk}/", {**FORM, "expires_at": "2031-02-03T04:05"})
    token.refresh_from_db()
    assert token.name == "Renamed"
    assert token.expires_at == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_an_unchanged_form_changes_nothing(staff_client: Client) -> None:
    token, _ = make_token(name="Same", group="vip", allowed_ips=["10.0.0.1/32"])
    before = AuditEvent.objects.count()
    form = {**FORM, "name": "Same", "allowed_ips": "10.0.0.1"}
    response = staff_client.post(f"/tokens/{token.pk}/", form)
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_bad_input_shows_errors_and_saves_nothing(staff_client: Client) -> None:
    token = _token()
    response = staff_client.post(f"/tokens/{token.pk}/", {**FORM, "allowed_ips": "10.0.0.300"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "“10.0.0.300” is not an IP address or CIDR range." in body
    assert 'value="Renamed"' in body
    token.refresh_from_db()
    assert token.name == "Original"
    assert token.group == "default"
