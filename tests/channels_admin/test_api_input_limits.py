"""The admin API answers 400 naming the field for input the database would refuse or that costs
too much: NUL characters, over-long values, oversized lists, deeply nested JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from channels_admin.validation import (
    MAX_BASE_URL_LENGTH,
    MAX_GROUP_NAME_LENGTH,
    MAX_KEY_LENGTH,
    MAX_MAPPING_ENTRIES,
    MAX_MODEL_NAME_LENGTH,
    MAX_MODELS,
    MAX_NAME_LENGTH,
)
from tests.support.api import db_snapshot, error_of
from tests.support.factories import CHANNEL_KEY, NEW_CHANNEL

pytestmark = pytest.mark.django_db

LONG_URL = "https://api.example.net/" + "p" * MAX_BASE_URL_LENGTH

BAD_FIELDS = [
    ({"name": "A\u0000"}, "name"),
    ({"base_url": "https://api.example.net/v\u00001"}, "base_url"),
    ({"key": "sk-abc\u0000def"}, "key"),
    ({"models": ["gpt\u0000"]}, "models"),
    ({"groups": ["vip\u0000"]}, "groups"),
    ({"model_mapping": {"fa\u0000st": "gpt-4o-mini"}}, "model_mapping"),
    ({"model_mapping": {"fast": "gpt\u0000"}}, "model_mapping"),
    ({"test_model": "gpt\u0000"}, "test_model"),
    ({"name": "n" * (MAX_NAME_LENGTH + 1)}, "name"),
    ({"base_url": LONG_URL}, "base_url"),
    ({"key": "k" * (MAX_KEY_LENGTH + 1)}, "key"),
    ({"models": ["m" * (MAX_MODEL_NAME_LENGTH + 1)]}, "models"),
    ({"groups": ["g" * (MAX_GROUP_NAME_LENGTH + 1)]}, "groups"),
    ({"model_mapping": {"m" * (MAX_MODEL_NAME_LENGTH + 1): "x"}}, "model_mapping"),
    ({"test_model": "t" * (MAX_MODEL_NAME_LENGTH + 1)}, "test_model"),
    ({"models": [f"m{index}" for index in range(30_000)]}, "models"),
    (
        {"model_mapping": {f"m{i}": f"m{i + 1}" for i in range(MAX_MAPPING_ENTRIES + 1)}},
        "model_mapping",
    ),
    ({"weight": "²"}, "weight"),
    ({"priority": "9" * 5000}, "priority"),
]


def post(api: Client, body: Any) -> Any:
    return api.post("/api/channels", body, content_type="application/json")


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS)
def test_create_names_the_field(api: Client, fields: dict[str, Any], field: str) -> None:
    before = db_snapshot()
    response = post(api, {**NEW_CHANNEL, **fields})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]
    assert db_snapshot() == before


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS)
def test_patch_names_the_field(
    api: Client, channel: Channel, fields: dict[str, Any], field: str
) -> None:
    before = db_snapshot()
    # The key goes along, so a new address is judged on its own merits.
    changes = {"key": CHANNEL_KEY, **fields}
    response = api.patch(f"/api/channels/{channel.pk}", changes, content_type="application/json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]
    assert db_snapshot() == before


def deep(depth: int) -> str:
    return '{"a": ' * depth + '"x"' + "}" * depth


@pytest.mark.parametrize("depth", [900, 3_000])
def test_a_deeply_nested_mapping_is_a_400(api: Client, channel: Channel, depth: int) -> None:
    body = '{"model_mapping": ' + deep(depth) + "}"
    response = api.generic(
        "PATCH", f"/api/channels/{channel.pk}", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


def test_the_biggest_allowed_channel_is_created(api: Client) -> None:
    models = [f"vendor/model-{index:04d}" for index in range(MAX_MODELS)]
    mapping = {f"alias-{i}": f"alias-{i + 1}" for i in range(MAX_MAPPING_ENTRIES - 1)}
    mapping[f"alias-{MAX_MAPPING_ENTRIES - 1}"] = "vendor/model-0000"
    response = post(api, {**NEW_CHANNEL, "models": models, "model_mapping": mapping})
    assert response.status_code == 201
    channel = Channel.objects.get()
    assert channel.model_names == models
    assert channel.model_mapping == mapping
