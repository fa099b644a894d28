"""/tokens/add/: the form (GET), the create (POST), then the key shown once after a redirect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.support.factories import make_channel
from tests.support.pages import assert_forbidden, assert_login_redirect, shown_key
from tests.support.relay_tokens import relay_token
from tokens.models import Token

pytestmark = pytest.mark.django_db

URL = "/tokens/add/"
VALID = {
    "name": "Team A",
    "group": "default",
    "status": "enabled",
    "expires_at": "",
    "allowed_ips": "",
}


def _create(client: Client, **changes: Any) -> Any:
    return client.post(URL, {**VALID, **changes})


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    assert_login_redirect(getattr(Client(), method)(URL), URL)
    assert not Token.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(URL))
    assert_forbidden(_create(plain_client))
    assert not Token.objects.exists()


def test_it_allows_only_get_and_post(staff_client: Client) -> None:
    assert staff_client.put(URL).status_code == 405
    assert staff_client.delete(URL).status_code == 405


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    assert _create(csrf_client).status_code == 403
    assert not Token.objects.exists()


# --- the form -----------------------------------------------------------------------------


def test_it_shows_the_form_posting_to_itself(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert f'action="{URL}"' in body
    for field in ("name", "group", "status", "expires_at", "allowed_ips"):
        assert f'name="{field}"' in body
    assert 'type="datetime-local"' in body
    assert 'value="default"' in body


def test_it_marks_required_fields_and_links_back(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    name_label = body[body.index('<label for="id_name">') :]
    assert name_label.index('<span class="required" aria-hidden="true">*</span>') < 80
    ips_label = body[body.index('<label for="id_allowed_ips">') :]
    assert '<span class="required"' not in ips_label[: ips_label.index("</label>")]
    head = body[body.index('<div class="page-head">') :]
    assert head.index('<a href="/tokens/">Back to tokens</a>') < head.index("</div>")


def test_it_offers_the_models_enabled_channels_serve(staff_client: Client) -> None:
    make_channel(models=["gpt-4o", "gpt-4o-mini"], model_mapping={"fast": "gpt-4o-mini"})
    make_channel(models=["claude-x"], status="disabled")
    body = staff_client.get(URL).content.decode()
    for name in ("gpt-4o", "gpt-4o-mini", "fast"):
        assert f'name="models" value="{name}"' in body
    assert "claude-x" not in body


def test_it_says_when_no_model_is_served(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert 'name="models"' not in body
    assert "No enabled channel serves a model yet" in body


def test_it_suggests_channel_groups(staff_client: Client) -> None:
    make_channel(groups=["vip", "default"])
    body = staff_client.get(URL).content.decode()
    assert '<option value="vip">' in body


# --- creating: POST, redirect, the key shown once ------------------------------------------


def test_a_create_redirects_and_the_next_page_shows_the_key_once(staff_client: Client) -> None:
    response = _create(staff_client)
    token = Token.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tokens/{token.pk}/created/"
    # The redirect itself carries no key.
    assert "sk-" not in response["Location"] and not response.content

    shown = staff_client.get(response["Location"], HTTP_HOST="gw.example.org")
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    body = shown.content.decode()
    key = shown_key(body)
    assert key.startswith("sk-") and len(key) == 51
    assert relay_token(key).id == token.pk
    assert "shown only this once" in body
    assert 'data-copy="new-key"' in body
    assert 'value="http://gw.example.org/v1"' in body
    assert f"OPENAI_API_KEY={key}" in body

    # A reload (or the browser's back and forward) finds nothing to show and creates nothing.
    again = staff_client.get(response["Location"], follow=True)
    assert again.redirect_chain == [("/tokens/", 302)]
    assert key not in again.content.decode()
    assert "was shown once and cannot be shown again" in again.content.decode()
    assert Token.objects.count() == 1


def test_the_key_is_stored_only_as_a_hash(staff_client: Client) -> None:
    location = _create(staff_client)["Location"]
    key = shown_key(staff_client.get(location).content.decode())
    token = Token.objects.get()
    assert key not in (token.key_hash, token.prefix)
    assert token.prefix == key[: len(token.prefix)]
    for value in Token.objects.values().get().values():
        assert key not in str(value)
    for url in ("/tokens/", f"/tokens/{token.pk}/", f"/tokens/{token.pk}/delete/"):
        later = staff_client.get(url).content.decode()
        assert key not in later
        assert key[len(token.prefix) :] not in later


def test_the_key_waits_encrypted_and_leaves_the_session_once_shown(staff_client: Client) -> None:
    location = _create(staff_client)["Location"]
    waiting = str(dict(staff_client.session.items()))
    key = shown_key(staff_client.get(location).content.decode())
    assert key not in waiting
    assert key[11:] not in waiting
    assert key not in str(dict(staff_client.session.items()))
    assert "adminui.once" not in staff_client.session
    assert all(key not in morsel.value for morsel in staff_client.cookies.values())


def test_another_session_cannot_see_the_key(staff_client: Client, alice: Any) -> None:
    location = _create(staff_client)["Location"]
    other = Client()
    other.force_login(alice)
    response = other.get(location)
    assert response.status_code == 302
    # The creating session still gets it: the other request took nothing.
    assert shown_key(staff_client.get(location).content.decode()).startswith("sk-")


def test_the_created_page_sends_anonymous_visitors_to_login(staff_client: Client) -> None:
    location = _create(staff_client)["Location"]
    assert_login_redirect(Client().get(location), location)


def test_two_creates_keep_their_keys_apart(staff_client: Client) -> None:
    first = _create(staff_client, name="one")["Location"]
    second = _create(staff_client, name="two")["Location"]
    second_key = shown_key(staff_client.get(second).content.decode())
    first_key = shown_key(staff_client.get(first).content.decode())
    assert relay_token(first_key).id == Token.objects.get(name="one").pk
    assert relay_token(second_key).id == Token.objects.get(name="two").pk


def test_it_saves_every_field(staff_client: Client) -> None:
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
    assert response.status_code == 302
    token = Token.objects.get()
    assert token.name == "Team B"
    assert token.group == "vip"
    assert token.status == "disabled"
    assert token.expires_at == datetime(2031, 2, 3, 4, 5, tzinfo=UTC)
    assert token.allowed_models == ["gpt-4o"]
    assert token.allowed_ips == ["10.0.0.0/8", "192.168.1.7/32"]


# --- refusing bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"allowed_ips": "10.0.0.1\nnot-an-ip"}, "allowed_ips", "is not an IP address"),
        ({"expires_at": "next tuesday"}, "expires_at", "Enter an ISO 8601 date"),
        ({"status": "paused"}, "status", "Unknown status. Choose one of: enabled, disabled."),
        ({"models": ["not-served"]}, "models", "Select a valid choice"),
        ({"group": "   "}, "group", "Must be a non-empty string."),
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
        ({"name": "Team\x00A"}, "name", "Must not contain NUL characters."),
        ({"group": "vip\x00"}, "group", "Must not contain NUL characters."),
        ({"allowed_ips": "10.0.0.1\x00"}, "allowed_ips", "Must not contain NUL characters."),
        ({"expires_at": "2031-01-01\x00"}, "expires_at", "Enter an ISO 8601 date"),
        ({"models": ["gpt\x00"]}, "models", "Must not contain NUL characters."),
        ({"name": "n" * 101}, "name", "At most 100 characters."),
        ({"group": "g" * 65}, "group", "At most 64 characters."),
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
