"""/account/verify/: the second step of signing in, after the password."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from audit.models import AuditEvent
from tests.support.factories import PASSWORD
from tests.support.two_factor import Enrolled, code_for, enrol

URL = "/account/verify/"


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_the_password_step_leads_to_the_code_page_keeping_next(
    alice: Any, enrolled: Enrolled
) -> None:
    client = Client()
    response = client.post(
        "/login/?next=/tokens/", {"username": "alice", "password": PASSWORD, "next": "/tokens/"}
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == URL
    assert parse_qs(location.query)["next"] == ["/tokens/"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Enter your code" in body
    assert 'name="next" value="/tokens/"' in body
    # No navigation to pages this session cannot reach yet.
    assert 'aria-label="Main"' not in body


def test_a_right_authenticator_code_finishes_signing_in(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    response = half_signed_in.post(URL, {"code": enrolled.code(), "next": "/tokens/"})
    assert response.status_code == 302
    assert response["Location"] == "/tokens/"
    assert half_signed_in.get("/tokens/").status_code == 200
    assert half_signed_in.get("/").status_code == 200
    [event] = _events("signed_in")
    assert (event.actor, event.object_type, event.object_repr) == ("alice", "user", "alice")
    assert event.detail == "authenticator code"
    assert event.ip == "127.0.0.1"


def test_it_accepts_a_code_typed_with_a_space(half_signed_in: Client, enrolled: Enrolled) -> None:
    code = enrolled.code()
    response = half_signed_in.post(URL, {"code": f" {code[:3]} {code[3:]} "})
    assert response.status_code == 302
    assert half_signed_in.get("/").status_code == 200


def test_a_recovery_code_signs_in_once(
    alice: Any, half_signed_in: Client, enrolled: Enrolled
) -> None:
    code = enrolled.recovery_codes[0]
    response = half_signed_in.post(URL, {"code": f"{code[:4]}-{code[4:].upper()}"}, follow=True)
    assert response.status_code == 200
    assert "You signed in with a recovery code" in response.content.decode()
    assert "9 recovery codes left" in response.content.decode()
    assert not StaticToken.objects.filter(token=code).exists()
    assert _events("signed_in")[0].detail == "recovery code"

    again = Client()
    again.post("/login/", {"username": "alice", "password": PASSWORD})
    refused = again.post(URL, {"code": code})
    assert refused.status_code == 200
    assert "This code is not valid" in refused.content.decode()
    assert again.get("/").status_code == 302


def test_a_code_cannot_be_used_twice(
    alice: Any, half_signed_in: Client, enrolled: Enrolled
) -> None:
    code = enrolled.code()
    assert half_signed_in.post(URL, {"code": code}).status_code == 302
    replay = Client()
    replay.post("/login/", {"username": "alice", "password": PASSWORD})
    response = replay.post(URL, {"code": code})
    assert "This code is not valid" in response.content.decode()
    assert replay.get("/").status_code == 302


def test_a_wrong_code_is_refused_counted_and_audited(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    wrong = f"{(int(enrolled.code()) + 500_000) % 1_000_000:06d}"
    response = half_signed_in.post(URL, {"code": wrong})
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert half_signed_in.get("/").status_code == 302
    enrolled.device.refresh_from_db()
    assert enrolled.device.throttling_failure_count == 1
    [event] = _events("sign_in_code_refused")
    assert (event.actor, event.object_repr, event.detail) == (
        "alice",
        "alice",
        "wrong authenticator code",
    )
    assert wrong not in str(event.changes) and wrong not in event.detail


def test_after_many_wrong_codes_even_the_right_one_waits(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    enrolled.device.throttling_failure_count = 6
    enrolled.device.throttling_failure_timestamp = timezone.now()
    enrolled.device.save()
    response = half_signed_in.post(URL, {"code": enrolled.code()})
    assert response.status_code == 429
    assert "Too many wrong codes. Try again in" in response.content.decode()
    assert half_signed_in.get("/").status_code == 302
    # A throttled attempt is not even looked at, so it is not a new audit event either.
    assert _events("sign_in_code_refused") == []


def test_a_wrong_recovery_code_counts_against_the_recovery_codes(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    response = half_signed_in.post(URL, {"code": "aaaa-aaaa"})
    assert response.status_code == 200
    device = StaticDevice.objects.get(user__username="alice")
    assert device.throttling_failure_count == 1
    assert _events("sign_in_code_refused")[0].detail == "wrong recovery code"


def test_locked_recovery_codes_refuse_even_a_right_one(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    device = StaticDevice.objects.get(user__username="alice")
    device.throttling_failure_count = 6
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    code = enrolled.recovery_codes[0]
    response = half_signed_in.post(URL, {"code": code})
    assert response.status_code == 429
    assert StaticToken.objects.filter(token=code).exists()
    assert half_signed_in.get("/").status_code == 302


def test_a_malformed_code_says_what_a_code_looks_like(
    half_signed_in: Client, enrolled: Enrolled
) -> None:
    response = half_signed_in.post(URL, {"code": "12345"})
    assert response.status_code == 200
    assert "Enter the 6-digit code from your authenticator app" in response.content.decode()
    enrolled.device.refresh_from_db()
    assert enrolled.device.throttling_failure_count == 0
    assert _events("sign_in_code_refused") == []


def test_another_admins_code_does_not_work(half_signed_in: Client, carol: Any) -> None:
    carols_phone = enrol(carol)
    response = half_signed_in.post(URL, {"code": code_for(carols_phone.device)})
    assert response.status_code == 200
    response = half_signed_in.post(URL, {"code": carols_phone.recovery_codes[0]})
    assert response.status_code == 200
    assert half_signed_in.get("/").status_code == 302


def test_it_never_redirects_off_site(half_signed_in: Client, enrolled: Enrolled) -> None:
    response = half_signed_in.post(
        URL, {"code": enrolled.code(), "next": "https://evil.example/steal"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_anonymous_visitors_go_to_the_login_page(db: None) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/login/"


def test_an_admin_without_two_factor_is_sent_on(staff_client: Client) -> None:
    response = staff_client.get(URL + "?next=/tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/tokens/"


def test_a_verified_session_is_sent_on(verified_client: Client) -> None:
    response = verified_client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_page_is_never_cached(half_signed_in: Client) -> None:
    response = half_signed_in.get(URL)
    assert "no-store" in response["Cache-Control"]
