"""The admin key page logs creating and revoking a key, never the key itself."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.audit import assert_no_secret, only_event
from tests.support.factories import make_admin_key
from tests.support.pages import shown_key
from tokens.models import AdminKey

pytestmark = pytest.mark.django_db

ADDRESS = "2001:db8::7"


def test_creating_a_key_is_logged(staff_client: Client) -> None:
    response = staff_client.post("/admin-keys/add/", {"name": "deploy"}, REMOTE_ADDR=ADDRESS)
    body = staff_client.get(response["Location"]).content.decode()
    key = shown_key(body)
    admin_key = AdminKey.objects.get()
    event = only_event()
    assert (event.actor_kind, event.actor, event.ip) == ("user", "alice", ADDRESS)
    assert (event.action, event.object_type) == ("created", "admin_key")
    assert event.object_id == str(admin_key.pk)
    assert event.object_repr == f"deploy ({key[:13]}…)"
    assert_no_secret(event, key, admin_key.key_hash)


def test_revoking_a_key_is_logged(staff_client: Client) -> None:
    admin_key, key = make_admin_key(name="old")
    key_id = admin_key.pk
    AuditEvent.objects.all().delete()
    staff_client.post(f"/admin-keys/{key_id}/revoke/", REMOTE_ADDR=ADDRESS)
    event = only_event()
    assert (event.actor, event.ip, event.action) == ("alice", ADDRESS, "revoked")
    assert (event.object_type, event.object_id) == ("admin_key", str(key_id))
    assert_no_secret(event, key)


def test_a_refused_name_is_not_logged(staff_client: Client) -> None:
    response = staff_client.post("/admin-keys/add/", {"name": "c\x00i"})
    assert "Must not contain NUL characters." in response.content.decode()
    assert not AdminKey.objects.exists()
    assert not AuditEvent.objects.exists()
