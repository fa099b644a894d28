from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from channels_admin.services import channel_create
from tokens.services import admin_key_create

CHANNEL_KEY = "sk-channel-secret-0123456789abcdefWXYZ"


@pytest.fixture
def admin_key(db: None) -> str:
    _, key = admin_key_create(name="tests")
    return key


@pytest.fixture
def api(admin_key: str) -> Client:
    """Sends a valid admin key; enforces CSRF checks, so passing tests prove the API is exempt."""
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {admin_key}"})


@pytest.fixture
def channel(db: None) -> Channel:
    return channel_create(
        name="Primary",
        base_url="https://api.example.net/v1",
        key=CHANNEL_KEY,
        models=["gpt-4o-mini", "gpt-4o"],
        groups=["default", "vip"],
        weight=3,
        priority=5,
        model_mapping={"fast": "gpt-4o-mini"},
    )
