"""GET|PATCH|DELETE /api/channels/<id>"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import db_snapshot, error_of
from tests.support.factories import CHANNEL_KEY

pytestmark = pytest.mark.django_db


def url(channel: Channel | int) -> str:
    return f"/api/channels/{channel if isinstance(channel, int) else channel.pk}"


def patch(api: Client, channel: Channel | int, body: Any) -> Any:
    return api.patch(url(channel), data=body, content_type="application/json")


def test_it_shows_a_channel(api: Client, full_channel: Channel) -> None:
    response = api.get(url(full_channel))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == full_channel.pk
    assert body["name"] == "Primary"
    assert body["key"] == "sk-…WXYZ"
    assert CHANNEL_KEY.encode() not in response.content


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_it_answers_404_for_an_unknown_id(api: Client, full_channel: Channel, method: str) -> None:
    response = getattr(api, method)(
        url(full_channel.pk + 1000), data={"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "channel" in error["message"]
    assert Channel.objects.get().name == "Primary"


def test_an_id_beyond_any_integer_column_is_not_found(api: Client) -> None:
    response = api.get("/api/channels/99999999999999999999")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put"])
def test_it_rejects_other_methods(api: Client, full_channel: Channel, method: str) -> None:
    response = getattr(api, method)(url(full_channel), data={}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, PATCH, DELETE"


def test_it_changes_only_the_given_fields(api: Client, full_channel: Channel) -> None:
    response = patch(
        api, full_channel, {"name": "Renamed", "weight": 0, "models": ["m1", "m1", "m2"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["weight"], body["models"]) == ("Renamed", 0, ["m1", "m2"])
    full_channel.refresh_from_db()
    assert full_channel.name == "Renamed"
    assert full_channel.weight == 0
    assert full_channel.model_names == ["m1", "m2"]
    assert full_channel.priority == 5
    assert full_channel.groups == ["default", "vip"]
    assert full_channel.model_mapping == {"fast": "gpt-4o-mini", "smart": "gpt-4o"}
    assert CHANNEL_KEY.encode() not in response.content


@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_key_keeps_the_old_one(api: Client, full_channel: Channel, empty: Any) -> None:
    response = patch(api, full_channel, {"key": empty, "priority": 1})
    assert response.status_code == 200
    full_channel.refresh_from_db()
    assert full_channel.api_key == CHANNEL_KEY
    assert full_channel.priority == 1
    assert response.json()["key"] == "sk-…WXYZ"


def test_it_replaces_the_key(api: Client, full_channel: Channel) -> None:
    new_key = "sk-replacement-key-9876543210zyxw"
    response = patch(api, full_channel, {"key": new_key})
    assert response.status_code == 200
    assert response.json()["key"] == "sk-…zyxw"
    assert new_key.encode() not in response.content
    full_channel.refresh_from_db()
    assert full_channel.api_key == new_key


def test_disabling_by_hand_clears_the_auto_disable_reason(
    api: Client, full_channel: Channel
) -> None:
    Channel.objects.filter(pk=full_channel.pk).update(
        status="auto_disabled", status_reason="HTTP 500"
    )
    body = patch(api, full_channel, {"status": "disabled"}).json()
    assert body["status"] == "disabled"
    assert body["status_reason"] is None
    assert body["status_changed_at"] is not None


def test_it_tells_the_relay(api: Client, full_channel: Channel) -> None:
    before = db_snapshot()["relay_version"]
    patch(api, full_channel, {"priority": 7})
    assert db_snapshot()["relay_version"] > before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"base_url": "example.net"}, "base_url"),
        ({"weight": -1}, "weight"),
        ({"weight": "1.5"}, "weight"),
        ({"model_mapping": {"a": "b", "b": "c", "c": "a"}}, "model_mapping"),
        ({"model_mapping": {"a": ["b"]}}, "model_mapping"),
        ({"status": "on"}, "status"),
        ({"type": "gemini"}, "type"),
        ({"type": "azure", "key": "sk-new-key-for-azure-0000"}, "type"),
        ({"type": "anthropic", "key": "sk-new-key-for-claude-000"}, "type"),
        ({"id": 5}, "id"),
        ({"name": None}, "name"),
        ({"models": []}, "models"),
    ],
)
def test_a_rejected_change_saves_nothing(
    api: Client, full_channel: Channel, changes: dict[str, Any], field: str
) -> None:
    before = db_snapshot()
    # A valid change beside the bad one must not be saved either.
    response = patch(api, full_channel, {"name": "Should not stick", **changes})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["param"] == field
    assert list(error["fields"]) == [field]
    assert field in error["message"]
    assert db_snapshot() == before


def test_it_rejects_a_non_object_body(api: Client, full_channel: Channel) -> None:
    before = db_snapshot()
    response = api.patch(url(full_channel), data=b"[]", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert db_snapshot() == before


def test_it_deletes_a_channel(api: Client, full_channel: Channel) -> None:
    before = db_snapshot()["relay_version"]
    response = api.delete(url(full_channel))
    assert response.status_code == 204
    assert response.content == b""
    assert not Channel.objects.exists()
    assert db_snapshot()["relay_version"] > before
    assert api.get(url(full_channel)).status_code == 404
