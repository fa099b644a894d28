"""POST /account/security/setup/confirm/: the first code turns two-factor sign-in on."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import two_factor_begin
from audit.models import AuditEvent
from tests.support.two_factor import Enrolled, code_for

URL = "/account/security/setup/confirm/"


def _start(client: Client) -> TOTPDevice:
    client.post("/account/security/setup/start/")
    return TOTPDevice.objects.get(confirmed=False)


def _shown_codes(body: str) -> list[str]:
    listing = body.split('id="recovery-code-list">', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", listing)


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(URL).status_code == 405


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert plain_client.post(URL, {"code": "123456"}).status_code == 403


def test_the_right_code_turns_it_on_and_shows_ten_recovery_codes_once(
    staff_client: Client,
) -> None:
    device = _start(staff_client)
    response = staff_client.post(URL, {"code": code_for(device)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "Two-factor sign-in is on" in body
    codes = _shown_codes(body)
    assert len(codes) == len(set(codes)) == 10
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert stored == {code.replace("-", "") for code in codes}
    device.refresh_from_db()
    assert device.confirmed is True
    # Shown once: the security page never repeats them.
    again = staff_client.get("/account/security/").content.decode()
    assert not any(code in again for code in codes)


def test_this_session_stays_signed_in(staff_client: Client) -> None:
    device = _start(staff_client)
    staff_client.post(URL, {"code": code_for(device)})
    assert staff_client.get("/tokens/").status_code == 200


def test_it_is_audited_without_any_secret(staff_client: Client) -> None:
    device = _start(staff_client)
    body = staff_client.post(URL, {"code": code_for(device)}).content.decode()
    [event] = AuditEvent.objects.filter(action="two_factor_enabled")
    assert (event.actor, event.object_type, event.object_id, event.object_repr) == (
        "alice",
        "user",
        str(device.user_id),
        "alice",
    )
    assert event.changes == {} and event.detail == ""
    recorded = str(AuditEvent.objects.values())
    assert device.key not in recorded
    assert not any(code in recorded for code in _shown_codes(body))


def test_a_wrong_code_keeps_it_off(staff_client: Client) -> None:
    device = _start(staff_client)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = staff_client.post(URL, {"code": wrong})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This code does not match" in body
    # The same secret is shown again, so the app that scanned it still fits.
    assert 'id="totp-secret"' in body
    device.refresh_from_db()
    assert device.confirmed is False
    assert device.throttling_failure_count == 1
    assert not StaticToken.objects.exists()
    assert not AuditEvent.objects.filter(action="two_factor_enabled").exists()


def test_a_malformed_code_is_explained(staff_client: Client) -> None:
    _start(staff_client)
    response = staff_client.post(URL, {"code": "abc"})
    assert "Enter the 6-digit code" in response.content.decode()
    assert response.status_code == 200


def test_guessing_is_throttled(staff_client: Client) -> None:
    device = _start(staff_client)
    device.throttling_failure_count = 5
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    response = staff_client.post(URL, {"code": code_for(device)})
    assert response.status_code == 429
    assert "Too many wrong codes" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False


def test_without_a_setup_in_progress_it_says_to_start_again(staff_client: Client) -> None:
    response = staff_client.post(URL, {"code": "123456"}, follow=True)
    assert response.redirect_chain == [("/account/security/", 302)]
    assert "This setup is no longer open" in response.content.decode()


def test_a_new_app_replaces_the_old_one_and_its_codes(
    verified_client: Client, enrolled: Enrolled
) -> None:
    device = _start(verified_client)
    response = verified_client.post(URL, {"code": code_for(device)})
    assert response.status_code == 200
    assert list(TOTPDevice.objects.values_list("pk", flat=True)) == [device.pk]
    old_codes = set(enrolled.recovery_codes)
    assert not StaticToken.objects.filter(token__in=old_codes).exists()
    assert StaticToken.objects.count() == 10
    event = AuditEvent.objects.filter(action="two_factor_enabled").latest("id")
    assert event.detail == "replaced the authenticator app"
    # The session is now tied to the new app and keeps working.
    assert verified_client.get("/tokens/").status_code == 200


def test_another_admins_code_does_not_confirm(staff_client: Client, carol: Any) -> None:
    _start(staff_client)
    carol_device = two_factor_begin(user=carol)
    response = staff_client.post(URL, {"code": code_for(carol_device)})
    assert "This code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
