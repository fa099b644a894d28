"""The password step and the audit log's sign-in events."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from audit.models import AuditEvent
from tests.support.factories import PASSWORD
from tests.support.two_factor import Enrolled


def test_a_password_only_sign_in_is_audited(alice: Any) -> None:
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    [event] = AuditEvent.objects.filter(action="signed_in")
    assert (event.actor, event.actor_kind, event.detail) == ("alice", "user", "password")
    assert PASSWORD not in str(AuditEvent.objects.values())


def test_with_two_factor_the_password_alone_is_not_a_sign_in(
    alice: Any, enrolled: Enrolled
) -> None:
    client = Client()
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert not AuditEvent.objects.filter(action="signed_in").exists()
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_wrong_password_never_reaches_the_code_page(alice: Any, enrolled: Enrolled) -> None:
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert client.get("/account/verify/").status_code == 302
    assert "_auth_user_id" not in client.session
