"""/account/security/: an admin's own two-factor status and controls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from tests.support.two_factor import Enrolled, enrol

URL = "/account/security/"


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/login/"


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    response = plain_client.get(URL)
    assert response.status_code == 403
    assert "not an administrator" in response.content.decode()


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


def test_without_two_factor_it_offers_the_setup(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="two-factor-status">Off<' in body
    assert "Set up two-factor sign-in" in body
    assert 'action="/account/security/setup/start/"' in body
    assert "Turn off two-factor sign-in" not in body
    assert "required for every administrator" not in body


def test_with_two_factor_it_shows_the_status_and_controls(
    verified_client: Client, enrolled: Enrolled
) -> None:
    body = verified_client.get(URL).content.decode()
    assert 'id="two-factor-status">On<' in body
    assert 'id="recovery-codes-left">10<' in body
    assert "Make new recovery codes" in body
    assert "Turn off two-factor sign-in" in body
    assert "Set up a new authenticator app" in body
    # The secret and the codes were shown once, at setup; never here.
    assert enrolled.device.key not in body
    for code in enrolled.recovery_codes:
        assert code not in body and f"{code[:4]}-{code[4:]}" not in body


def test_it_shows_only_the_admins_own_status(staff_client: Client, carol: Any) -> None:
    enrol(carol)
    body = staff_client.get(URL).content.decode()
    assert 'id="two-factor-status">Off<' in body


def test_when_required_it_says_so_and_hides_turning_off(
    settings: Any, verified_client: Client, carol: Any
) -> None:
    settings.REQUIRE_2FA = True
    body = verified_client.get(URL).content.decode()
    assert "Turn off two-factor sign-in" not in body
    unenrolled = Client()
    unenrolled.force_login(carol)
    body = unenrolled.get(URL).content.decode()
    assert "requires two-factor sign-in for every administrator" in body


def test_the_top_bar_links_the_admins_name_here(staff_client: Client) -> None:
    body = staff_client.get("/").content.decode()
    assert f'<a class="user-name" href="{URL}"' in body


def test_it_speaks_chinese(staff_client: Client) -> None:
    staff_client.post("/i18n/", {"language": "zh-hans", "next": URL})
    body = staff_client.get(URL).content.decode()
    assert "设置两步验证" in body
    assert ">审计日志</a>" in body
