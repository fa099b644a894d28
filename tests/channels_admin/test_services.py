"""channels_admin.services: validation, and the writes every admin surface shares."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from audit.models import ActorKind
from audit.services import Actor
from channels_admin.models import Channel
from channels_admin.services import (
    channel_as_dict,
    channel_auto_disable,
    channel_copy,
    channel_create,
    channel_delete,
    channel_record_test,
    channel_update,
    clean_channel_data,
    mapping_errors,
)
from core.state import read_db_version

KEY = "sk-service-test-key-0123456789abcdWXYZ"
ADMIN = Actor(ActorKind.USER, "admin", "192.0.2.1")
VALID = {"name": "A", "base_url": "https://api.example.net/v1", "key": KEY, "models": ["m"]}


def errors_of(data: dict[str, Any], *, partial: bool = False) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        clean_channel_data(data, partial=partial)
    return info.value.message_dict


def make(**options: Any) -> Channel:
    return channel_create(**{**VALID, **options})


# --- mapping_errors ----------------------------------------------------------------------


def test_a_chain_without_a_loop_is_fine() -> None:
    assert mapping_errors({"a": "b", "b": "c", "x": "c"}) == []
    assert mapping_errors({}) == []


@pytest.mark.parametrize(
    ("mapping", "chain"),
    [
        ({"a": "a"}, "a → a"),
        ({"a": "b", "b": "a"}, "a → b → a"),
        ({"a": "b", "b": "c", "c": "a"}, "a → b → c → a"),
        ({"x": "a", "a": "b", "b": "a"}, "x → a → b → a"),
    ],
)
def test_it_finds_mapping_cycles(mapping: dict[str, str], chain: str) -> None:
    [problem] = mapping_errors(mapping)
    assert "cycle" in problem
    assert chain in problem


@pytest.mark.parametrize("mapping", [[], "a:b", 3, None, [["a", "b"]]])
def test_a_mapping_must_be_an_object(mapping: Any) -> None:
    [problem] = mapping_errors(mapping)
    assert "JSON object" in problem


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"a": 1}, "“a” must map to a string"),
        ({"a": None}, "“a” must map to a string"),
        ({"a": ["b"]}, "“a” must map to a string"),
        ({"": "b"}, "cannot be empty"),
        ({"a": "  "}, "cannot be empty"),
        ({" a": "b"}, "start or end with spaces"),
        ({"a": "b "}, "start or end with spaces"),
    ],
)
def test_mapping_names_must_be_clean_strings(mapping: dict[str, Any], words: str) -> None:
    problems = mapping_errors(mapping)
    assert any(words in problem for problem in problems), problems


def test_it_lists_every_bad_mapping_entry() -> None:
    assert len(mapping_errors({"a": 1, "b": 2, "c": "d"})) == 2


# --- clean_channel_data ------------------------------------------------------------------


def test_it_cleans_a_full_channel() -> None:
    cleaned = clean_channel_data(
        {
            **VALID,
            "name": "  Spaced  ",
            "base_url": " https://api.example.net/v1/ ",
            "models": ["b", "a", "b", " a ", ""],
            "groups": "vip, default\nvip",
            "weight": "7",
            "priority": "-2",
            "model_mapping": None,
            "test_model": None,
        },
        partial=False,
    )
    assert cleaned["name"] == "Spaced"
    assert cleaned["base_url"] == "https://api.example.net/v1"
    assert cleaned["model_names"] == ["b", "a"]
    assert cleaned["groups"] == ["vip", "default"]
    assert (cleaned["weight"], cleaned["priority"]) == (7, -2)
    assert cleaned["model_mapping"] == {}
    assert cleaned["test_model"] == ""
    assert cleaned["key_mask"] == "sk-…WXYZ"
    assert KEY not in cleaned["key_encrypted"]
    assert "key" not in cleaned


def test_it_dedupes_a_comma_separated_model_list() -> None:
    cleaned = clean_channel_data({"models": "gpt-4o, gpt-4o-mini,gpt-4o\n"}, partial=True)
    assert cleaned == {"model_names": ["gpt-4o", "gpt-4o-mini"]}


def test_a_partial_change_needs_no_required_field() -> None:
    assert clean_channel_data({"weight": 0}, partial=True) == {"weight": 0}
    assert clean_channel_data({}, partial=True) == {}


@pytest.mark.parametrize("field", ["name", "base_url", "key", "models"])
def test_a_full_channel_needs_the_required_fields(field: str) -> None:
    data = {k: v for k, v in VALID.items() if k != field}
    assert errors_of(data) == {field: ["This field is required."]}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"base_url": "api.example.net"}, "base_url", "http:// or https://"),
        ({"base_url": "ftp://example.net"}, "base_url", "http:// or https://"),
        ({"base_url": "http://"}, "base_url", "http:// or https://"),
        ({"base_url": ["http://x.test"]}, "base_url", "URL"),
        ({"weight": -1}, "weight", "at least 0"),
        ({"weight": 2.0}, "weight", "whole number"),
        ({"weight": "ten"}, "weight", "whole number"),
        ({"weight": False}, "weight", "whole number"),
        ({"weight": None}, "weight", "whole number"),
        ({"weight": 2**31}, "weight", "too large"),
        ({"priority": -(2**31)}, "priority", "too large"),
        ({"priority": "1e3"}, "priority", "whole number"),
        ({"status": "ENABLED"}, "status", "Unknown status"),
        ({"type": "gemini"}, "type", "Unknown type"),
        ({"name": "  "}, "name", "non-empty string"),
        ({"name": 3}, "name", "non-empty string"),
        ({"key": "two words"}, "key", "without spaces"),
        ({"key": 12345}, "key", "without spaces"),
        ({"models": ["a", 1]}, "models", "list of strings"),
        ({"models": {"a": "b"}}, "models", "list of strings"),
        ({"models": [" ", ""]}, "models", "At least one"),
        ({"groups": []}, "groups", "At least one"),
        ({"model_mapping": {"a": "b", "b": "a"}}, "model_mapping", "cycle"),
        ({"model_mapping": "a=b"}, "model_mapping", "JSON object"),
        ({"test_model": ["m"]}, "test_model", "string"),
        ({"api_key": KEY}, "api_key", "Unknown field"),
    ],
)
def test_it_rejects_bad_values(changes: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of({**VALID, **changes})
    assert list(errors) == [field]
    assert any(words in message for message in errors[field]), errors


def test_it_reports_all_bad_fields_together() -> None:
    errors = errors_of({"base_url": "x", "weight": -1, "status": "?", "extra": 1})
    assert set(errors) == {"name", "key", "models", "base_url", "weight", "status", "extra"}


def test_the_biggest_allowed_numbers_pass() -> None:
    cleaned = clean_channel_data({"weight": 2**31 - 1, "priority": -(2**31 - 1)}, partial=True)
    assert cleaned == {"weight": 2**31 - 1, "priority": -(2**31 - 1)}


# --- writes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_stores_the_key_encrypted_only() -> None:
    channel = make()
    row = Channel.objects.values().get(pk=channel.pk)
    assert all(KEY not in str(value) for value in row.values())
    assert row["key_mask"] == "sk-…WXYZ"
    assert Channel.objects.get().api_key == KEY


@pytest.mark.django_db
def test_create_applies_the_defaults() -> None:
    channel = make()
    assert channel.type == "openai"
    assert channel.groups == ["default"]
    assert (channel.weight, channel.priority) == (1, 0)
    assert channel.status == "enabled"
    assert channel.status_changed_at is None
    assert channel.model_mapping == {}
    assert channel.effective_test_model == "m"


@pytest.mark.django_db
def test_create_notes_when_a_channel_starts_disabled() -> None:
    assert make(status="disabled").status_changed_at is not None


@pytest.mark.django_db
def test_create_saves_nothing_when_invalid() -> None:
    version = read_db_version()
    with pytest.raises(ValidationError):
        make(weight=-1)
    assert not Channel.objects.exists()
    assert read_db_version() == version


@pytest.mark.django_db
def test_every_write_bumps_the_relay_version() -> None:
    start = read_db_version()
    channel = make()
    channel_update(channel=channel, changes={"weight": 5})
    copy = channel_copy(channel=channel, actor=ADMIN)
    channel_delete(channel=copy, actor=ADMIN)
    assert read_db_version() == start + 4


@pytest.mark.django_db
@pytest.mark.parametrize("empty", ["", None])
def test_update_with_an_empty_key_keeps_the_old_one(empty: Any) -> None:
    channel = make()
    channel_update(channel=channel, changes={"key": empty, "name": "B"})
    channel.refresh_from_db()
    assert channel.api_key == KEY
    assert channel.name == "B"


@pytest.mark.django_db
def test_update_replaces_the_key_and_its_mask() -> None:
    channel = make()
    channel_update(channel=channel, changes={"key": "sk-new-key-000000000000abcd"})
    channel.refresh_from_db()
    assert channel.api_key == "sk-new-key-000000000000abcd"
    assert channel.key_mask == "sk-…abcd"


@pytest.mark.django_db
def test_a_rejected_update_changes_nothing() -> None:
    channel = make()
    before = Channel.objects.values().get()
    version = read_db_version()
    with pytest.raises(ValidationError) as info:
        channel_update(channel=channel, changes={"name": "B", "model_mapping": {"a": "a"}})
    assert list(info.value.message_dict) == ["model_mapping"]
    assert channel.name == "A"
    assert Channel.objects.values().get() == before
    assert read_db_version() == version


@pytest.mark.django_db
def test_a_status_change_is_timestamped_and_clears_the_reason() -> None:
    channel = make()
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
    channel = make(status="disabled")
    assert channel_auto_disable(channel_id=channel.pk, reason="HTTP 500") is False
    channel.refresh_from_db()
    assert channel.status == "disabled"


@pytest.mark.django_db
def test_copy_keeps_the_settings_but_not_the_test_results() -> None:
    channel = make(model_mapping={"x": "m"}, weight=4)
    channel_record_test(channel=channel, ok=True, latency_ms=120, actor=ADMIN)
    copy = channel_copy(channel=channel, actor=ADMIN)
    assert copy.pk != channel.pk
    assert copy.name == "A (copy)"
    assert copy.api_key == KEY
    assert (copy.model_mapping, copy.weight) == ({"x": "m"}, 4)
    assert copy.last_test_at is None and copy.last_response_ms is None


@pytest.mark.django_db
def test_record_test_keeps_the_last_good_latency_on_failure() -> None:
    channel = make()
    channel_record_test(channel=channel, ok=True, latency_ms=80, actor=ADMIN)
    first = channel.last_test_at
    channel_record_test(channel=channel, ok=False, latency_ms=5, actor=ADMIN)
    channel.refresh_from_db()
    assert channel.last_response_ms == 80
    assert first is not None and channel.last_test_at >= first


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
    channel = make(status=status)
    channel_record_test(channel=channel, ok=ok, latency_ms=10, actor=ADMIN)
    channel.refresh_from_db()
    assert channel.status == after


@pytest.mark.django_db
def test_as_dict_never_holds_the_key() -> None:
    channel = make()
    as_dict = channel_as_dict(channel)
    assert as_dict["key"] == "sk-…WXYZ"
    assert KEY not in repr(as_dict)
    assert channel.key_encrypted not in repr(as_dict)


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, ""])
def test_update_to_a_new_address_needs_the_key_again(key: Any) -> None:
    channel = make()
    before = Channel.objects.values().get()
    with pytest.raises(ValidationError) as info:
        channel_update(
            channel=channel, changes={"base_url": "https://other.example.net/v1", "key": key}
        )
    assert list(info.value.message_dict) == ["key"]
    assert Channel.objects.values().get() == before


@pytest.mark.django_db
def test_update_to_a_new_address_with_the_key_is_saved() -> None:
    channel = make()
    channel_update(
        channel=channel,
        changes={"base_url": "https://other.example.net/v1", "key": "sk-other-key-00001111"},
    )
    channel.refresh_from_db()
    assert (channel.base_url, channel.api_key) == (
        "https://other.example.net/v1",
        "sk-other-key-00001111",
    )
