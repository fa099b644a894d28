"""POST /account/security/recovery-codes/: new recovery codes, confirmed with a current code."""

from __future__ import annotations

import re

from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken

from audit.models import AuditEvent
from tests.support.two_factor import Enrolled

URL = "/account/security/recovery-codes/"


def _shown_codes(body: str) -> set[str]:
    return set(re.findall(r"<li>([a-z2-7]{4})-([a-z2-7]{4})</li>", body))


def test_it_rejects_get(verified_client: Client) -> None:
    assert verified_client.get(URL).status_code == 405


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert plain_client.post(URL, {"regenerate-code": "123456"}).status_code == 403


def test_an_authenticator_code_makes_new_codes_and_the_old_ones_stop(
    verified_client: Client, enrolled: Enrolled
) -> None:
    response = verified_client.post(URL, {"regenerate-code": enrolled.code(steps_ahead=1)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "New recovery codes" in body and "The old codes no longer work." in body
    shown = {a + b for a, b in _shown_codes(body)}
    assert len(shown) == 10
    assert set(StaticToken.objects.values_list("token", flat=True)) == shown
    assert not shown & set(enrolled.recovery_codes)
    [event] = AuditEvent.objects.filter(action="recovery_codes_regenerated")
    assert (event.actor, event.object_repr) == ("alice", "alice")
    assert not any(code in str(AuditEvent.objects.values()) for code in shown)


def test_a_recovery_code_confirms_too(verified_client: Client, enrolled: Enrolled) -> None:
    response = verified_client.post(URL, {"regenerate-code": enrolled.recovery_codes[3]})
    assert response.status_code == 200
    assert len(_shown_codes(response.content.decode())) == 10


def test_a_wrong_code_changes_nothing(verified_client: Client, enrolled: Enrolled) -> None:
    response = verified_client.post(URL, {"regenerate-code": "zzzz-zzzz"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This code is not valid" in body
    assert 'id="recovery-codes-left">10<' in body
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(enrolled.recovery_codes)
    assert not AuditEvent.objects.filter(action="recovery_codes_regenerated").exists()


def test_an_empty_code_is_refused_beside_the_field(verified_client: Client) -> None:
    response = verified_client.post(URL, {"regenerate-code": ""})
    assert response.status_code == 200
    assert 'id="id_regenerate-code_errors"' in response.content.decode()


def test_without_two_factor_there_is_nothing_to_regenerate(staff_client: Client) -> None:
    response = staff_client.post(URL, {"regenerate-code": "123456"})
    assert response.status_code == 302
    assert response["Location"] == "/account/security/"
    assert not StaticToken.objects.exists()
