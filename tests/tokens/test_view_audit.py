"""The token pages log each action once, as the signed-in admin from the client's address."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.audit import assert_no_secret, only_event
from tests.support.factories import make_token
from tests.support.pages import HTMX, shown_key
from tokens.models import Token

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.4"
FORM = {"name": "Team A", "group": "default", "status": "enabled", "expires_at": ""}


def _post(client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, data, REMOTE_ADDR=ADDRESS, **extra)


def _existing(name: str = "Team A") -> tuple[Token, str]:
    token, key = make_token(name=name)
    AuditEvent.objects.all().delete()
    return token, key


def _assert_by_alice(event: AuditEvent) -> None:
    assert (event.actor_kind, event.actor, event.ip) == ("user", "alice", ADDRESS)


def test_creating_a_token_is_logged_without_its_key(staff_client: Client) -> None:
    response = _post(staff_client, "/tokens/add/", FORM)
    assert response.status_code == 302
    token = Token.objects.get()
    event = only_event()
    _assert_by_alice(event)
    assert (event.action, event.object_type, event.object_id) == ("created", "token", str(token.pk))
    assert event.object_repr == f"Team A ({token.display_prefix})"
    shown = staff_client.get(response["Location"]).content.decode()
    key = shown_key(shown)
    assert_no_secret(event, key, token.key_hash)


def test_a_refused_form_is_not_logged(staff_client: Client) -> None:
    _post(staff_client, "/tokens/add/", {**FORM, "expires_at": "9999-12-31T23:59"})
    assert not AuditEvent.objects.exists()


def test_an_edit_is_logged_with_old_and_new_values(staff_client: Client) -> None:
    token, key = _existing("Old name")
    _post(staff_client, f"/tokens/{token.pk}/", {**FORM, "allowed_ips": "10.0.0.1"})
    event = only_event()
    _assert_by_alice(event)
    assert event.action == "changed"
    assert event.changes == {"name": ["Old name", "Team A"], "allowed_ips": [[], ["10.0.0.1/32"]]}
    assert_no_secret(event, key)


def test_an_unchanged_edit_is_not_logged(staff_client: Client) -> None:
    token, _ = _existing()
    _post(staff_client, f"/tokens/{token.pk}/", FORM)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_disabling_and_enabling_are_logged(staff_client: Client, headers: dict[str, str]) -> None:
    token, _ = _existing()
    url = f"/tokens/{token.pk}/status/"
    _post(staff_client, url, {"status": "disabled"}, headers=headers)
    _post(staff_client, url, {"status": "enabled"}, headers=headers)
    events = list(AuditEvent.objects.order_by("id"))
    assert [event.action for event in events] == ["disabled", "enabled"]
    for event in events:
        _assert_by_alice(event)
        assert event.object_id == str(token.pk)


def test_deleting_is_logged(staff_client: Client) -> None:
    token, key = _existing()
    token_id = token.pk
    _post(staff_client, f"/tokens/{token_id}/delete/", {})
    event = only_event()
    _assert_by_alice(event)
    assert (event.action, event.object_id) == ("deleted", str(token_id))
    assert event.object_repr == f"Team A ({key[:11]}…)"
    assert_no_secret(event, key)


def test_a_refused_visitor_leaves_no_event(plain_client: Client) -> None:
    token, _ = _existing()
    _post(plain_client, f"/tokens/{token.pk}/delete/", {})
    _post(Client(), f"/tokens/{token.pk}/status/", {"status": "disabled"})
    assert not AuditEvent.objects.exists()
