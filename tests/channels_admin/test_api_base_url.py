"""The admin API refuses a base URL with credentials, a query, a fragment or control characters."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import db_snapshot, error_of
from tests.support.factories import CHANNEL_KEY

pytestmark = pytest.mark.django_db

BAD = [
    ("https://user:hunter2@api.example.net/v1", "user name or password"),
    ("https://api.example.net/v1?api-version=2024", "cannot have a query"),
    ("https://api.example.net/v1#frag", "cannot have a fragment"),
    ("https://api.example.net/v1\u0000", "control characters"),
    ("https://api.example.net/v\t1", "control characters"),
]


@pytest.mark.parametrize(("base_url", "words"), BAD)
def test_create_refuses_it(api: Client, base_url: str, words: str) -> None:
    before = db_snapshot()
    body = {"name": "A", "base_url": base_url, "key": CHANNEL_KEY, "models": ["m"]}
    response = api.post("/api/channels", body, content_type="application/json")

    assert response.status_code == 400
    error = error_of(response)
    assert list(error["fields"]) == ["base_url"]
    assert words in error["fields"]["base_url"][0]
    assert "hunter2" not in response.content.decode()
    assert db_snapshot() == before


@pytest.mark.parametrize(("base_url", "words"), BAD)
def test_patch_refuses_it_even_with_the_key(
    api: Client, channel: Channel, base_url: str, words: str
) -> None:
    before = db_snapshot()
    response = api.patch(
        f"/api/channels/{channel.pk}",
        {"base_url": base_url, "key": CHANNEL_KEY},
        content_type="application/json",
    )
    assert response.status_code == 400
    error: dict[str, Any] = error_of(response)
    assert list(error["fields"]) == ["base_url"]
    assert words in error["fields"]["base_url"][0]
    assert db_snapshot() == before


def test_an_old_password_in_the_address_is_not_returned(api: Client, channel: Channel) -> None:
    # Saved before credentials in the address were refused.
    Channel.objects.filter(pk=channel.pk).update(base_url="https://u:hunter2@api.example.net/v1")
    one = api.get(f"/api/channels/{channel.pk}")
    every = api.get("/api/channels")
    assert one.json()["base_url"] == "https://api.example.net/v1"
    assert b"hunter2" not in one.content + every.content
