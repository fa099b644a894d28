from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from channels_admin.models import Channel
from channels_admin.services import channel_create

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_cache(settings: Any) -> Any:
    settings.PUBLIC_BASE_URL = ""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="alice", password=PASSWORD, is_staff=True)


@pytest.fixture
def plain_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="bob", password=PASSWORD)


@pytest.fixture
def staff_client(staff_user: Any) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_client(plain_user: Any) -> Client:
    client = Client()
    client.force_login(plain_user)
    return client


@pytest.fixture
def make_channel(db: None) -> Callable[..., Channel]:
    def make(**overrides: Any) -> Channel:
        fields: dict[str, Any] = {
            "name": "upstream",
            "base_url": "https://api.example.net/v1",
            "key": "sk-upstream-secret-0001",
            "models": ["gpt-4o-mini"],
        }
        fields.update(overrides)
        return channel_create(**fields)

    return make
