"""POST /account/security/disable/: two-factor sign-in off, confirmed with a current code."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.support.factories import PASSWORD
from tests.support.two_factor import Enrolled

URL = "/account/security/disable/"


def test_it_rejects_get(verified_client: Client) -> None:
    assert verified_client.get(URL).status_code == 405


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert plain_client.post(URL, {"disable-code": "123456"}).status_code == 403


def test_a_current_code_turns_it_off(verified_client: Client, enrolled: Enrolled) -> None:
    response = verified_client.post(
        URL, {"disable-code": enrolled.code(steps_ahead=1)}, follow=True
    )
    assert response.redirect_chain == [("/account/security/", 302)]
    body = response.content.decode()
    assert "Two-factor sign-in is off." in body
    assert 'id="two-factor-status">Off<' in body
    assert not TOTPDevice.objects.exists()
    assert not StaticDevice.objects.exists() and not StaticToken.objects.exists()
    [event] = AuditEvent.objects.filter(action="two_factor_disabled")
    assert (event.actor, event.object_type, event.object_repr) == ("alice", "user", "alice")
    # And the next sign-in takes the password only.
    verified_client.post("/logout/")
    verified_client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert verified_client.get("/tokens/").status_code == 200


def test_a_recovery_code_works_when_the_phone_is_lost(
    verified_client: Client, enrolled: Enrolled
) -> None:
    response = verified_client.post(URL, {"disable-code": enrolled.recovery_codes[0]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.exists()


def test_a_wrong_code_leaves_it_on(verified_client: Client, enrolled: Enrolled) -> None:
    response = verified_client.post(URL, {"disable-code": "000000"})
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert TOTPDevice.objects.filter(confirmed=True).count() == 1
    assert not AuditEvent.objects.filter(action="two_factor_disabled").exists()


def test_it_cannot_be_turned_off_while_required(
    settings: Any, verified_client: Client, enrolled: Enrolled
) -> None:
    settings.REQUIRE_2FA = True
    response = verified_client.post(
        URL, {"disable-code": enrolled.code(steps_ahead=1)}, follow=True
    )
    assert "required on this gateway and cannot be turned off" in response.content.decode()
    assert TOTPDevice.objects.filter(confirmed=True).count() == 1


def test_without_two_factor_there_is_nothing_to_turn_off(staff_client: Client) -> None:
    response = staff_client.post(URL, {"disable-code": "123456"})
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()
