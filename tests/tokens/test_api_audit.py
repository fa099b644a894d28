"""The tokens API logs each write as the admin key that made it, from the caller's address."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.audit import assert_no_secret, only_event
from tests.support.factories import make_token
from tokens.models import AdminKey, Token

pytestmark = pytest.mark.django_db

ADDRESS = "192.0.2.10"


@pytest.fixture
def caller(api: Client) -> str:
    """The label the log gives the API's admin key."""
    admin_key = AdminKey.objects.get()
    return f"tests ({admin_key.display_prefix})"


def test_creating_is_logged_as_the_admin_key(api: Client, caller: str) -> None:
    response = api.post(
        "/api/tokens", data={"name": "Bot"}, content_type="application/json", REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 201
    key = response.json()["key"]
    event = only_event()
    assert (event.actor_kind, event.actor, event.ip) == ("admin_key", caller, ADDRESS)
    assert (event.action, event.object_type) == ("created", "token")
    assert event.object_id == str(response.json()["id"])
    assert_no_secret(event, key, Token.objects.get().key_hash)


def test_patching_is_logged_with_old_and_new_values(api: Client, caller: str) -> None:
    token, key = make_token(name="Bot")
    AuditEvent.objects.all().delete()
    api.patch(
        f"/api/tokens/{token.pk}",
        data={"group": "vip", "expires_at": "2031-01-01T00:00:00+01:00"},
        content_type="application/json",
        REMOTE_ADDR=ADDRESS,
    )
    event = only_event()
    assert (event.actor, event.ip, event.action) == (caller, ADDRESS, "changed")
    assert event.changes == {
        "group": ["default", "vip"],
        "expires_at": [None, "2030-12-31T23:00:00+00:00"],
    }
    assert_no_secret(event, key)


def test_disabling_alone_is_logged_as_disabled(api: Client, caller: str) -> None:
    token, _ = make_token(name="Bot")
    AuditEvent.objects.all().delete()
    api.patch(
        f"/api/tokens/{token.pk}", data={"status": "disabled"}, content_type="application/json"
    )
    assert only_event().action == "disabled"


def test_deleting_is_logged(api: Client, caller: str) -> None:
    token, key = make_token(name="Bot")
    token_id = token.pk
    AuditEvent.objects.all().delete()
    assert api.delete(f"/api/tokens/{token_id}", REMOTE_ADDR=ADDRESS).status_code == 204
    event = only_event()
    assert (event.actor, event.ip, event.action) == (caller, ADDRESS, "deleted")
    assert event.object_id == str(token_id)
    assert_no_secret(event, key)


def test_a_refused_request_is_not_logged(api: Client, caller: str) -> None:
    response = api.post(
        "/api/tokens",
        data={"name": "Bot", "expires_at": "9999-12-31T23:59:59-12:00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


def test_a_refused_change_is_not_logged(api: Client, caller: str) -> None:
    token, _ = make_token(name="Bot")
    AuditEvent.objects.all().delete()
    response = api.patch(
        f"/api/tokens/{token.pk}", data={"name": "\x00"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()
