"""GET /api/channels"""

from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from channels_admin.services import channel_create
from tests.api.conftest import CHANNEL_KEY
from tests.api.helpers import error_of

pytestmark = pytest.mark.django_db


def test_it_lists_nothing_at_first(api: Client) -> None:
    response = api.get("/api/channels")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"data": []}


def test_it_lists_channels_with_masked_keys(api: Client, channel: Channel) -> None:
    response = api.get("/api/channels")
    assert response.status_code == 200
    assert CHANNEL_KEY.encode() not in response.content
    assert channel.key_encrypted.encode() not in response.content
    [item] = response.json()["data"]
    assert item == {
        "id": channel.pk,
        "name": "Primary",
        "type": "openai",
        "base_url": "https://api.example.net/v1",
        "key": "sk-…WXYZ",
        "models": ["gpt-4o-mini", "gpt-4o"],
        "groups": ["default", "vip"],
        "weight": 3,
        "priority": 5,
        "status": "enabled",
        "status_reason": None,
        "status_changed_at": None,
        "model_mapping": {"fast": "gpt-4o-mini"},
        "test_model": "gpt-4o-mini",
        "last_test_at": None,
        "last_response_ms": None,
        "created_at": channel.created_at.isoformat(),
        "updated_at": channel.updated_at.isoformat(),
    }


def test_it_lists_higher_priority_first(api: Client, channel: Channel) -> None:
    low = channel_create(name="Low", base_url="http://low.test", key="k-low-1234567", models=["m"])
    high = channel_create(
        name="High", base_url="http://high.test", key="k-high-1234567", models=["m"], priority=9
    )
    ids = [item["id"] for item in api.get("/api/channels").json()["data"]]
    assert ids == [high.pk, channel.pk, low.pk]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_it_rejects_other_methods(api: Client, method: str) -> None:
    response = getattr(api, method)("/api/channels", data={}, content_type="application/json")
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["type"] == "invalid_request_error"
    assert response["Allow"] == "GET, POST"
