"""GET /api/channels"""

from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import error_of
from tests.support.factories import CHANNEL_KEY, make_channel

pytestmark = pytest.mark.django_db


def test_it_lists_nothing_at_first(api: Client) -> None:
    response = api.get("/api/channels")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"data": []}


def test_it_lists_channels_with_masked_keys(api: Client, full_channel: Channel) -> None:
    response = api.get("/api/channels")
    assert response.status_code == 200
    assert CHANNEL_KEY.encode() not in response.content
    assert full_channel.key_encrypted.encode() not in response.content
    [item] = response.json()["data"]
    assert item == {
        "id": full_channel.pk,
        "name": "Primary",
        "type": "openai",
        "base_url": "https://api.example.net/v1",
        "api_version": "",
        "key": "sk-…WXYZ",
        "keys": [{"index": 0, "mask": "sk-…WXYZ", "status": "enabled", "reason": ""}],
        "key_mode": "random",
        "models": ["gpt-4o-mini", "gpt-4o"],
        "groups": ["default", "vip"],
        "weight": 3,
        "priority": 5,
        "status": "enabled",
        "status_reason": None,
        "status_changed_at": None,
        "model_mapping": {"fast": "gpt-4o-mini", "smart": "gpt-4o"},
        "test_model": "gpt-4o",
        "connect_timeout": None,
        "first_byte_timeout": None,
        "stream_idle_timeout": None,
        "total_timeout": None,
        "disabled_models": {},
        "cooldown_until": None,
        "next_probe_at": None,
        "last_test_at": None,
        "last_response_ms": None,
        "created_at": full_channel.created_at.isoformat(),
        "updated_at": full_channel.updated_at.isoformat(),
    }


def test_it_lists_higher_priority_first(api: Client, full_channel: Channel) -> None:
    low = make_channel(name="Low", priority=0)
    high = make_channel(name="High", priority=9)
    ids = [item["id"] for item in api.get("/api/channels").json()["data"]]
    assert ids == [high.pk, full_channel.pk, low.pk]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_it_rejects_other_methods(api: Client, method: str) -> None:
    response = getattr(api, method)("/api/channels", data={}, content_type="application/json")
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["type"] == "invalid_request_error"
    assert response["Allow"] == "GET, POST"
