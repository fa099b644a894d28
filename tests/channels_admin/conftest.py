from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from channels_admin.services import channel_create

SECRET_KEY = "sk-live-channel-secret-0123456789ABCDEF"


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    settings.LANGUAGE_CODE = "en"
    yield


@pytest.fixture
def user_client(django_user_model: Any) -> Client:
    """Signed in, but not staff."""
    user = django_user_model.objects.create_user(username="bob", password="pw-not-used-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make_channel(db: None) -> Callable[..., Channel]:
    def make(**overrides: Any) -> Channel:
        fields: dict[str, Any] = {
            "name": "Primary",
            "base_url": "https://api.example.net/v1",
            "key": SECRET_KEY,
            "models": ["gpt-4o-mini"],
        }
        fields.update(overrides)
        return channel_create(**fields)

    return make


@pytest.fixture
def channel(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel()


@pytest.fixture
def live_channel(make_channel: Callable[..., Channel], upstream: Any) -> Channel:
    """A channel pointing at the real fake upstream, with the right key."""
    return make_channel(
        name="Live", base_url=upstream.v1, key=upstream.api_key, models=["gpt-4o-mini"]
    )


def snapshot(channel: Channel) -> dict[str, Any]:
    """Every stored field, to prove a refused change saved nothing."""
    fresh = Channel.objects.get(pk=channel.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Channel._meta.concrete_fields}
