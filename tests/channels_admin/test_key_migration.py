"""Migrations 0006/0007: each channel's one key becomes its key #0, and back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.crypto import decrypt_secret, encrypt_secret, mask_secret

BEFORE = [("channels_admin", "0005_channel_types")]
AFTER = [("channels_admin", "0007_drop_channel_key_columns")]
KEY = "sk-old-single-key-0000000000000000abcd"


def migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def at_0005(transactional_db: None) -> Iterator[Any]:
    apps = migrate(BEFORE)
    yield apps
    # Leave the database as every other test expects it.
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_each_key_moves_to_index_0_and_comes_back(at_0005: Any) -> None:
    old_channel = at_0005.get_model("channels_admin", "Channel")
    made = old_channel.objects.create(
        name="Old",
        base_url="https://api.example.net/v1",
        key_encrypted=encrypt_secret(KEY),
        key_mask=mask_secret(KEY),
        model_names=["m"],
    )

    apps = migrate(AFTER)
    channel_key = apps.get_model("channels_admin", "ChannelKey")
    [row] = channel_key.objects.filter(channel_id=made.pk)
    assert (row.index, row.key_mask, row.status, row.reason) == (0, "sk-…abcd", "enabled", "")
    assert decrypt_secret(row.key_encrypted) == KEY
    channel = apps.get_model("channels_admin", "Channel").objects.get(pk=made.pk)
    assert channel.next_key_index == 1
    assert channel.key_mode == "random"
    assert not hasattr(channel, "key_mask")

    back = migrate(BEFORE)
    restored = back.get_model("channels_admin", "Channel").objects.get(pk=made.pk)
    assert decrypt_secret(restored.key_encrypted) == KEY
    assert restored.key_mask == "sk-…abcd"
