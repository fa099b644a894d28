"""Channel writes through the admin API are audit events naming the admin key that made them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from channels_admin.models import Channel
from tests.support.factories import CHANNEL_KEY
from tokens.models import AdminKey

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"
NEW_KEY = "sk-api-replacement-key-000111222333abcd"


def only(action: str) -> AuditEvent:
    [event] = AuditEvent.objects.filter(object_type="channel", action=action)
    return event


def assert_by_the_key(event: AuditEvent) -> None:
    admin_key = AdminKey.objects.get()
    assert event.actor_kind == "admin_key"
    assert event.actor == f"tests ({admin_key.display_prefix})"
    assert event.ip == IP


def assert_no_secret(*keys: str) -> None:
    dumped = json.dumps(list(AuditEvent.objects.values()), default=str)
    for key in keys:
        assert key not in dumped


def call(api: Client, method: str, path: str, body: Any = None) -> Any:
    return api.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        REMOTE_ADDR=IP,
    )


def test_create_is_recorded(api: Client) -> None:
    body = {
        "name": "A",
        "base_url": "https://a.example.net/v1",
        "key": CHANNEL_KEY,
        "models": ["m"],
    }
    response = call(api, "POST", "/api/channels", body)
    assert response.status_code == 201
    event = only("created")
    assert_by_the_key(event)
    assert event.object_id == str(response.json()["id"])
    assert_no_secret(CHANNEL_KEY)


def test_patch_is_recorded_with_the_keys_masked(api: Client, channel: Channel) -> None:
    response = call(api, "PATCH", f"/api/channels/{channel.pk}", {"weight": 8, "key": NEW_KEY})
    assert response.status_code == 200
    event = only("changed")
    assert_by_the_key(event)
    # The new key replaces the old one and takes the next index: never a reused one.
    assert event.changes == {
        "weight": [1, 8],
        "keys": [["#0 sk-…WXYZ enabled"], [f"#1 {NEW_KEY[:3]}…{NEW_KEY[-4:]} enabled"]],
    }
    assert_no_secret(CHANNEL_KEY, NEW_KEY)


def test_a_status_patch_is_recorded_as_disabled(api: Client, channel: Channel) -> None:
    call(api, "PATCH", f"/api/channels/{channel.pk}", {"status": "disabled"})
    assert_by_the_key(only("disabled"))
    assert not AuditEvent.objects.filter(action="changed").exists()


def test_a_refused_patch_is_not_recorded(api: Client, channel: Channel) -> None:
    response = call(api, "PATCH", f"/api/channels/{channel.pk}", {"base_url": "https://x.test/v1"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="changed").exists()


def test_delete_is_recorded(api: Client, channel: Channel) -> None:
    assert call(api, "DELETE", f"/api/channels/{channel.pk}").status_code == 204
    event = only("deleted")
    assert_by_the_key(event)
    assert event.object_repr == "Primary"


def test_a_test_is_recorded(api: Client, channel: Channel, upstream: Any) -> None:
    call(api, "PATCH", f"/api/channels/{channel.pk}", {"base_url": upstream.v1, "key": NEW_KEY})
    response = call(api, "POST", f"/api/channels/{channel.pk}/test")
    assert response.json()["ok"] is False
    event = only("tested")
    assert_by_the_key(event)
    assert event.detail.startswith("Failed: Incorrect API key provided")
    assert_no_secret(NEW_KEY, CHANNEL_KEY)
