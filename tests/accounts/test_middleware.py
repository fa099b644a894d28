"""Between the password and the code, a session reaches nothing but the code page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.support.factories import PASSWORD, make_admin_key
from tests.support.two_factor import Enrolled
from tokens.models import Token

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/channels/?q=x"}

ADMIN_PAGES = [
    "/",
    "/channels/",
    "/channels/add/",
    "/tokens/",
    "/tokens/add/",
    "/admin-keys/",
    "/audit/",
    "/account/security/",
    "/account/security/setup/",
]


def _assert_sent_to_verify(response: object, next_path: str | None) -> None:
    assert response.status_code == 302  # type: ignore[attr-defined]
    location = urlsplit(response["Location"])  # type: ignore[index]
    assert location.path == "/account/verify/"
    assert parse_qs(location.query).get("next") == ([next_path] if next_path else None)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_every_admin_page_waits_for_the_code(half_signed_in: Client, path: str) -> None:
    _assert_sent_to_verify(half_signed_in.get(path), path)


def test_a_post_waits_for_the_code_too(half_signed_in: Client) -> None:
    response = half_signed_in.post("/tokens/add/", {"name": "sneaky"})
    _assert_sent_to_verify(response, None)
    assert not Token.objects.exists()


def test_an_htmx_fragment_request_reloads_into_the_code_page(half_signed_in: Client) -> None:
    response = half_signed_in.get("/channels/", headers=HTMX)
    assert response.status_code == 200
    location = urlsplit(response["HX-Redirect"])
    assert location.path == "/account/verify/"
    assert parse_qs(location.query)["next"] == ["/channels/?q=x"]
    assert "<table" not in response.content.decode()


def test_an_async_channel_view_waits_for_the_code(half_signed_in: Client) -> None:
    response = half_signed_in.post("/channels/test-all/")
    _assert_sent_to_verify(response, None)


def test_logging_out_and_switching_language_still_work(half_signed_in: Client) -> None:
    response = half_signed_in.post("/i18n/", {"language": "zh-hans", "next": "/account/verify/"})
    assert response.status_code == 302
    assert half_signed_in.post("/logout/").status_code == 302
    after = half_signed_in.get("/account/verify/")
    assert urlsplit(after["Location"]).path == "/login/"


def test_the_admin_api_answers_by_key_whatever_the_session(half_signed_in: Client) -> None:
    _, key = make_admin_key(name="automation")
    response = half_signed_in.get("/api/tokens", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {"data": []}
    # And the session alone opens no API door.
    assert half_signed_in.get("/api/tokens").status_code == 401


def test_after_the_code_every_page_opens(verified_client: Client) -> None:
    for path in ADMIN_PAGES[:-1]:
        assert verified_client.get(path).status_code == 200, path


def test_a_new_password_sign_in_needs_a_new_code(
    verified_client: Client, enrolled: Enrolled
) -> None:
    verified_client.post("/logout/")
    verified_client.post("/login/", {"username": "alice", "password": PASSWORD})
    _assert_sent_to_verify(verified_client.get("/tokens/"), "/tokens/")
