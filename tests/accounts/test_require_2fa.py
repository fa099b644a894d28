"""TOLLGATE_REQUIRE_2FA: a staff account without an authenticator can do nothing but add one."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.two_factor import code_for


@pytest.fixture(autouse=True)
def _required(settings: Any) -> None:
    settings.REQUIRE_2FA = True


@pytest.mark.parametrize("path", ["/", "/channels/", "/tokens/", "/audit/", "/admin-keys/"])
def test_every_admin_page_sends_to_the_setup(staff_client: Client, path: str) -> None:
    response = staff_client.get(path)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/account/security/"
    assert parse_qs(location.query)["next"] == [path]


def test_htmx_requests_are_sent_there_too(staff_client: Client) -> None:
    response = staff_client.get(
        "/tokens/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tokens/"}
    )
    assert urlsplit(response["HX-Redirect"]).path == "/account/security/"


def test_the_setup_pages_open_without_the_navigation(staff_client: Client) -> None:
    response = staff_client.get("/account/security/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "requires two-factor sign-in for every administrator" in body
    assert 'aria-label="Main"' not in body


def test_once_set_up_everything_opens(staff_client: Client) -> None:
    staff_client.post("/account/security/setup/start/")
    assert staff_client.get("/account/security/setup/").status_code == 200
    device = TOTPDevice.objects.get()
    response = staff_client.post("/account/security/setup/confirm/", {"code": code_for(device)})
    assert response.status_code == 200
    assert staff_client.get("/tokens/").status_code == 200
    assert staff_client.get("/").status_code == 200


def test_non_staff_users_still_get_the_no_access_page(plain_client: Client) -> None:
    response = plain_client.get("/")
    assert response.status_code == 403
    assert "not an administrator" in response.content.decode()


def test_logging_out_still_works(staff_client: Client) -> None:
    assert staff_client.post("/logout/").status_code == 302
    assert urlsplit(staff_client.get("/").headers["Location"]).path == "/login/"


def test_it_is_off_by_default(settings: Any, staff_client: Client) -> None:
    settings.REQUIRE_2FA = False
    assert staff_client.get("/tokens/").status_code == 200
