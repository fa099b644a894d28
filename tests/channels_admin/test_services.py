"""channels_admin.services: the writes every admin surface shares, from clean values."""

from __future__ import annotations

from typing import Any

import pytest

from channels_admin.models import Channel, ChannelKey
from channels_admin.services import (
    channel_as_dict,
    channel_auto_disable,
    channel_copy,
    channel_delete,
    channel_record_test,
    channel_update,
)
from core.state import read_db_version
from tests.support.audit import ALICE
from tests.support.channels import count_encryptions, key_rows
from tests.support.factories import CHANNEL_KEY, make_channel

# --- writes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_stores_the_key_encrypted_only() -> None:
    channel = make_channel()
    row = Channel.objects.values().get(pk=channel.pk)
    [key] = ChannelKey.objects.values()
    assert all(CHANNEL_KEY not in str(value) for value in [*row.values(), *key.values()])
    assert (key["index"], key["key_mask"], key["status"]) == (0, "sk-…WXYZ", "enabled")
    assert Channel.objects.get().api_key == CHANNEL_KEY


@pytest.mark.django_db
def test_create_applies_the_defaults() -> None:
    channel = make_channel()
    assert channel.type == "openai"
    assert channel.groups == ["default"]
    assert (channel.weight, channel.priority) == (1, 0)
    assert channel.status == "enabled"
    assert channel.status_changed_at is None
    assert channel.model_mapping == {}
    assert channel.effective_test_model == "gpt-4o-mini"


@pytest.mark.django_db
def test_create_notes_when_a_channel_starts_disabled() -> None:
    assert make_channel(status="disabled").status_changed_at is not None


@pytest.mark.django_db
def test_create_encrypts_the_key_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_encryptions(monkeypatch)
    make_channel()
    assert calls == [CHANNEL_KEY]


@pytest.mark.django_db
def test_update_encrypts_a_new_key_once_and_a_kept_one_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = make_channel()
    calls = count_encryptions(monkeypatch)
    channel_update(channel=channel, changes={"key": "", "name": "B"})
    assert calls == []
    channel_update(channel=channel, changes={"key": "sk-new-key-000000000000abcd"})
    assert calls == ["sk-new-key-000000000000abcd"]


@pytest.mark.django_db
def test_every_write_bumps_the_relay_version() -> None:
    seen = [read_db_version()]
    channel = make_channel()
    seen.append(read_db_version())
    channel_update(channel=channel, changes={"weight": 5})
    seen.append(read_db_version())
    copy = channel_copy(channel=channel, actor=ALICE)
    seen.append(read_db_version())
    channel_delete(channel=copy, actor=ALICE)
    seen.append(read_db_version())
    assert seen == sorted(set(seen))  # each write moved it on


@pytest.mark.django_db
@pytest.mark.parametrize("empty", ["", None])
def test_update_with_an_empty_key_keeps_the_old_one(empty: Any) -> None:
    channel = make_channel()
    channel_update(channel=channel, changes={"key": empty, "name": "B"})
    channel.refresh_from_db()
    assert channel.api_key == CHANNEL_KEY
    assert channel.name == "B"


@pytest.mark.django_db
def test_update_replaces_the_key_and_its_mask() -> None:
    channel = make_channel()
    channel_update(channel=channel, changes={"key": "sk-new-key-000000000000abcd"})
    channel.refresh_from_db()
    assert channel.api_key == "sk-new-key-000000000000abcd"
    # A replaced key's index is never reused.
    assert key_rows(channel) == [(1, "sk-…abcd", "enabled", "")]


@pytest.mark.django_db
def test_an_unknown_change_is_a_programming_error_and_changes_nothing() -> None:
    channel = make_channel()
    before = Channel.objects.values().get()
    version = read_db_version()
    with pytest.raises(TypeError):
        channel_update(channel=channel, changes={"name": "B", "key_encrypted": "x"})
    assert Channel.objects.values().get() == before
    assert read_db_version() == version


@pytest.mark.django_db
def test_a_status_change_is_timestamped_and_clears_the_reason() -> None:
    channel = make_channel()
    assert channel_auto_disable(channel_id=channel.pk, reason="HTTP 500")
    channel.refresh_from_db()
    assert (channel.status, channel.status_reason) == ("auto_disabled", "HTTP 500")
    channel_update(channel=channel, changes={"status": "enabled"})
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert channel.status_reason == ""
    assert channel.status_changed_at is not None


@pytest.mark.django_db
def test_auto_disable_leaves_manually_disabled_channels_alone() -> None:
    channel = make_channel(status="disabled")
    assert channel_auto_disable(channel_id=channel.pk, reason="HTTP 500") is False
    channel.refresh_from_db()
    assert channel.status == "disabled"


@pytest.mark.django_db
def test_copy_keeps_the_settings_but_not_the_test_results() -> None:
    channel = make_channel(model_mapping={"x": "gpt-4o-mini"}, weight=4)
    channel_record_test(channel=channel, ok=True, latency_ms=120, actor=ALICE)
    copy = channel_copy(channel=channel, actor=ALICE)
    assert copy.pk != channel.pk
    assert copy.name == "Primary (copy)"
    assert copy.api_key == CHANNEL_KEY
    assert (copy.model_mapping, copy.weight) == ({"x": "gpt-4o-mini"}, 4)
    assert copy.last_test_at is None and copy.last_response_ms is None
    assert (copy.last_test_ok, copy.last_test_error) == (None, "")


@pytest.mark.django_db
def test_record_test_keeps_the_last_good_latency_on_failure() -> None:
    channel = make_channel()
    channel_record_test(channel=channel, ok=True, latency_ms=80, actor=ALICE)
    first = channel.last_test_at
    channel_record_test(channel=channel, ok=False, latency_ms=5, actor=ALICE)
    channel.refresh_from_db()
    assert channel.last_response_ms == 80
    assert first is not None and channel.last_test_at >= first


@pytest.mark.django_db
def test_record_test_keeps_the_outcome_until_the_next_test() -> None:
    channel = make_channel()
    assert (channel.last_test_ok, channel.last_test_error) == (None, "")
    channel_record_test(
        channel=channel, ok=False, latency_ms=5, actor=ALICE, error="Incorrect key\x00 [redacted]"
    )
    channel.refresh_from_db()
    assert (channel.last_test_ok, channel.last_test_error) == (
        False,
        "Incorrect key\ufffd [redacted]",
    )
    channel_record_test(channel=channel, ok=True, latency_ms=7, actor=ALICE)
    channel.refresh_from_db()
    assert (channel.last_test_ok, channel.last_test_error) == (True, "")


@pytest.mark.django_db
def test_a_test_that_never_reached_the_upstream_is_kept_as_failed() -> None:
    channel = make_channel()
    channel_record_test(
        channel=channel, ok=False, latency_ms=0, actor=ALICE, error="No model.", reached=False
    )
    channel.refresh_from_db()
    assert (channel.last_test_ok, channel.last_test_error) == (False, "No model.")
    assert channel.last_test_at is not None
    assert channel.last_response_ms is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "ok", "after"),
    [
        ("auto_disabled", True, "enabled"),
        ("auto_disabled", False, "auto_disabled"),
        ("disabled", True, "disabled"),
        ("enabled", False, "enabled"),
    ],
)
def test_record_test_only_re_enables_auto_disabled_channels(
    status: str, ok: bool, after: str
) -> None:
    channel = make_channel(status=status)
    channel_record_test(channel=channel, ok=ok, latency_ms=10, actor=ALICE)
    channel.refresh_from_db()
    assert channel.status == after


@pytest.mark.django_db
def test_as_dict_never_holds_the_key() -> None:
    channel = make_channel()
    as_dict = channel_as_dict(channel)
    assert as_dict["key"] == "sk-…WXYZ"
    assert CHANNEL_KEY not in repr(as_dict)
    assert channel.key_encrypted not in repr(as_dict)


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, ""])
@pytest.mark.parametrize(
    "change", [{"base_url": "https://other.example.net/v1"}, {"type": "legacy"}]
)
def test_update_never_moves_the_stored_key(key: Any, change: dict[str, str]) -> None:
    """ChannelForm refuses this with a message; a caller that skipped the form is stopped too."""
    channel = make_channel()
    before = Channel.objects.values().get()
    with pytest.raises(ValueError, match="needs the key again"):
        channel_update(channel=channel, changes={**change, "key": key})
    assert Channel.objects.values().get() == before


@pytest.mark.django_db
def test_update_to_a_new_address_with_the_key_is_saved() -> None:
    channel = make_channel()
    channel_update(
        channel=channel,
        changes={"base_url": "https://other.example.net/v1", "key": "sk-other-key-00001111"},
    )
    channel.refresh_from_db()
    assert (channel.base_url, channel.api_key) == (
        "https://other.example.net/v1",
        "sk-other-key-00001111",
    )
