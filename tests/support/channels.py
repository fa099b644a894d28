"""Channel helpers: input as the pages post it and as ChannelForm judges it, a stored
channel's snapshot and keys, the key encryptions counted, and the canary key that must stay
home."""

from __future__ import annotations

from typing import Any

import pytest

from channels_admin import services
from channels_admin.forms import ChannelForm
from channels_admin.models import Channel, ChannelKey
from core.crypto import encrypt_secret
from tests.support.factories import CHANNEL_KEY
from tests.support.fake_upstream import FakeUpstream

# A key that lives at one upstream ("home"), and the one typed for another ("elsewhere").
CANARY = "sk-canary-key-must-stay-home-0123456789"
RETYPED = "sk-retyped-key-for-the-new-host-98765"


def add_form(**overrides: Any) -> dict[str, Any]:
    """The add page's POST for a plain new channel, "Main", saved with the Save button."""
    data: dict[str, Any] = {
        "name": "Main",
        "type": "openai",
        "base_url": "https://api.example.net/v1",
        "api_version": "",
        "keys": CHANNEL_KEY,
        "key_mode": "random",
        "models": "gpt-4o-mini",
        "groups": "default",
        "weight": "1",
        "priority": "0",
        "status": "enabled",
        "mapping_mode": "rows",
        "action": "save",
    }
    data.update(overrides)
    return data


def edit_form(channel: Channel, **overrides: Any) -> dict[str, Any]:
    """The edit page's POST for `channel` as saved, no key added (keep the stored ones)."""
    data: dict[str, Any] = {
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.base_url,
        "api_version": channel.api_version,
        "add_keys": "",
        "key_mode": channel.key_mode,
        "models": "\n".join(channel.model_names),
        "groups": ", ".join(channel.groups),
        "weight": str(channel.weight),
        "priority": str(channel.priority),
        "status": channel.status,
        "test_model": channel.test_model,
        "mapping_mode": "rows",
        "mapping_from": list(channel.model_mapping),
        "mapping_to": list(channel.model_mapping.values()),
        "channel": str(channel.pk),
        "action": "save",
    }
    data.update(overrides)
    return data


def snapshot(channel: Channel) -> dict[str, Any]:
    """Every stored field and key, to prove a refused change saved nothing."""
    fresh = Channel.objects.get(pk=channel.pk)
    stored = {f.attname: getattr(fresh, f.attname) for f in Channel._meta.concrete_fields}
    stored["keys"] = list(
        ChannelKey.objects.filter(channel=fresh)
        .order_by("index")
        .values_list("index", "key_encrypted", "status", "reason")
    )
    return stored


def stored_keys(channel: Channel) -> list[str]:
    """The channel's keys in index order, decrypted: what the database really holds."""
    return [key.plaintext for key in ChannelKey.objects.filter(channel=channel).order_by("index")]


def key_rows(channel: Channel) -> list[tuple[int, str, str, str]]:
    """(index, mask, status, reason) of each key, in index order."""
    return list(
        ChannelKey.objects.filter(channel=channel)
        .order_by("index")
        .values_list("index", "key_mask", "status", "reason")
    )


def form_errors(values: dict[str, Any], *, channel: Channel | None = None) -> dict[str, list[str]]:
    """ChannelForm's errors for `values` given field by field (a change when `channel`)."""
    form = ChannelForm.from_json(values, partial=channel is not None, channel=channel)
    assert not form.is_valid()
    return form.validation_error().message_dict


def form_cleaned(values: dict[str, Any], *, channel: Channel | None = None) -> dict[str, Any]:
    """ChannelForm's clean values for `values` given field by field (a change when `channel`)."""
    form = ChannelForm.from_json(values, partial=channel is not None, channel=channel)
    assert form.is_valid(), form.errors
    return form.cleaned_data


def count_encryptions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plaintexts the channel services encrypt from now on, one entry per encryption."""
    calls: list[str] = []

    def counted(plaintext: str) -> str:
        calls.append(plaintext)
        return encrypt_secret(plaintext)

    monkeypatch.setattr(services, "encrypt_secret", counted)
    return calls


def canary_seen(upstream: FakeUpstream) -> bool:
    """Whether the canary key reached `upstream` anywhere in any request."""
    return any(
        CANARY in value or CANARY.encode() in request.body
        for request in upstream.requests
        for value in [*request.headers.values(), request.path, request.query]
    )
