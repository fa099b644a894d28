"""The one way tests make what they need: users, channels, tokens and admin keys.

Each factory takes the service's own keyword arguments as overrides of sensible defaults, and
writes through the service (so the audit log and the relay's version see it as in real use).
The named personas built from these (alice, bob, carol) are fixtures in tests/conftest.py.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.contrib.auth import get_user_model

from channels_admin.models import Channel
from channels_admin.services import channel_create
from tests.support.fake_upstream import FakeUpstream
from tokens.models import AdminKey, Token
from tokens.services import admin_key_create, token_create

# Every persona's password (tests hash it with a fast hasher, see tests/conftest.py).
PASSWORD = "correct horse battery staple"
# The key of a made channel unless a test says otherwise; shown masked as "sk-…WXYZ".
CHANNEL_KEY = "sk-channel-secret-0123456789abcdefWXYZ"
# A new channel's required values, as the JSON API and ChannelForm.from_json take them; the
# factory's defaults too.
NEW_CHANNEL: dict[str, Any] = {
    "name": "Primary",
    "base_url": "https://api.example.net/v1",
    "key": CHANNEL_KEY,
    "models": ["gpt-4o-mini"],
}


class NewToken(NamedTuple):
    token: Token
    key: str


class NewAdminKey(NamedTuple):
    admin_key: AdminKey
    key: str


def make_user(username: str, *, staff: bool) -> Any:
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff
    )


def make_channel(upstream: FakeUpstream | None = None, **overrides: Any) -> Channel:
    """A channel named "Primary" at an address nobody answers, or one serving `upstream`:
    its address, its key and the models it serves. `keys=[…]` (with `key=""`) gives it many."""
    fields = {**NEW_CHANNEL, "models": list(NEW_CHANNEL["models"])}
    if upstream is not None:
        fields.update(
            name=upstream.name,
            base_url=upstream.v1,
            key=upstream.api_key,
            models=list(upstream.models),
        )
    fields.update(overrides)
    return channel_create(**fields)


def make_token(**overrides: Any) -> NewToken:
    """A token named "Team A"; `.key` is its key, the only time it exists in the clear."""
    token, key = token_create(**{"name": "Team A", **overrides})
    return NewToken(token, key)


def make_admin_key(**overrides: Any) -> NewAdminKey:
    """An admin API key named "tests"; `.key` is the key in the clear."""
    admin_key, key = admin_key_create(**{"name": "tests", **overrides})
    return NewAdminKey(admin_key, key)
