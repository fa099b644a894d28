"""The four per-channel timeouts through the JSON API: optional seconds > 0, at most a day;
null (or absent on a create) means the gateway's default."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import error_of
from tests.support.factories import NEW_CHANNEL

pytestmark = pytest.mark.django_db

TIMEOUTS = ["connect_timeout", "first_byte_timeout", "stream_idle_timeout", "total_timeout"]


def post(api: Client, body: Any) -> Any:
    return api.post("/api/channels", data=body, content_type="application/json")


def patch(api: Client, channel: Channel, body: Any) -> Any:
    return api.patch(f"/api/channels/{channel.pk}", data=body, content_type="application/json")


def test_a_new_channel_uses_the_defaults_unless_told(api: Client) -> None:
    body = post(api, NEW_CHANNEL).json()
    assert {name: body[name] for name in TIMEOUTS} == dict.fromkeys(TIMEOUTS)


def test_it_stores_and_shows_timeouts(api: Client) -> None:
    given = {
        "connect_timeout": 5,
        "first_byte_timeout": 12.5,
        "stream_idle_timeout": "30",
        "total_timeout": 86400,
    }
    response = post(api, {**NEW_CHANNEL, **given})
    assert response.status_code == 201
    body = response.json()
    expected = {
        "connect_timeout": 5.0,
        "first_byte_timeout": 12.5,
        "stream_idle_timeout": 30.0,
        "total_timeout": 86400.0,
    }
    assert {name: body[name] for name in TIMEOUTS} == expected
    channel = Channel.objects.get()
    assert {name: getattr(channel, name) for name in TIMEOUTS} == expected
    assert api.get(f"/api/channels/{channel.pk}").json()["first_byte_timeout"] == 12.5


def test_a_patch_changes_one_and_null_restores_the_default(api: Client) -> None:
    channel_id = post(api, {**NEW_CHANNEL, "connect_timeout": 5, "total_timeout": 60}).json()["id"]
    channel = Channel.objects.get(pk=channel_id)
    response = patch(api, channel, {"connect_timeout": None, "stream_idle_timeout": 45})
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.connect_timeout is None
    assert channel.stream_idle_timeout == 45.0
    assert channel.total_timeout == 60.0  # not named: unchanged


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "more than 0"),
        (-1, "more than 0"),
        ("-1", "number of seconds"),
        (86401, "At most 86400 seconds"),
        (True, "number of seconds"),
        ("ten", "number of seconds"),
        ("1e3", "number of seconds"),
        ("nan", "number of seconds"),
        ([5], "number of seconds"),
    ],
)
def test_it_refuses_a_bad_timeout(api: Client, value: Any, words: str) -> None:
    response = post(api, {**NEW_CHANNEL, "first_byte_timeout": value})
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "first_byte_timeout"
    assert words in error["message"]
    assert not Channel.objects.exists()
