"""channels_admin.forms.ChannelForm: the one place channel input is validated.

Values given field by field (`from_json`, as the JSON API and the list's inline edits send
them) and the add/edit page's POST go through the same fields; the page-specific parts
(mapping editor, ticked fetched models) are tested in the view tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from channels_admin.models import Channel
from channels_admin.validation import mapping_errors
from tests.support.channels import form_cleaned, form_errors
from tests.support.factories import CHANNEL_KEY, NEW_CHANNEL

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


# --- values given field by field ----------------------------------------------------------

# Blank timeouts: each channel uses the gateway's defaults.
NO_TIMEOUTS = dict.fromkeys(
    ["connect_timeout", "first_byte_timeout", "stream_idle_timeout", "total_timeout"]
)


def test_it_cleans_a_full_channel() -> None:
    values = form_cleaned(
        {
            **NEW_CHANNEL,
            "name": "  Spaced  ",
            "base_url": " https://api.example.net/v1/ ",
            "models": ["b", "a", "b", " a ", ""],
            "groups": "vip, default\nvip",
            "weight": "7",
            "priority": "-2",
            "model_mapping": None,
            "test_model": None,
        }
    )
    assert values == {
        "name": "Spaced",
        "type": "openai",
        "status": "enabled",
        "base_url": "https://api.example.net/v1",
        "api_version": "",
        "key": CHANNEL_KEY,
        "keys": [],
        "key_mode": "random",
        "models": ["b", "a"],
        "groups": ["vip", "default"],
        "weight": 7,
        "priority": -2,
        "model_mapping": {},
        "test_model": "",
        **NO_TIMEOUTS,
    }


def test_a_new_channel_takes_the_defaults_for_what_is_not_given() -> None:
    assert form_cleaned(NEW_CHANNEL) == {
        **NEW_CHANNEL,
        "type": "openai",
        "api_version": "",
        "keys": [],
        "key_mode": "random",
        "groups": ["default"],
        "weight": 1,
        "priority": 0,
        "status": "enabled",
        "test_model": "",
        "model_mapping": {},
        **NO_TIMEOUTS,
    }


def test_it_dedupes_a_comma_separated_model_list() -> None:
    values = form_cleaned({**NEW_CHANNEL, "models": "gpt-4o, gpt-4o-mini,gpt-4o\n"})
    assert values["models"] == ["gpt-4o", "gpt-4o-mini"]


@pytest.mark.django_db
def test_a_change_needs_no_required_field(channel: Channel) -> None:
    # The key is always there on a change: blank means "keep the stored one".
    assert form_cleaned({"weight": 0}, channel=channel) == {"weight": 0, "key": ""}
    assert form_cleaned({}, channel=channel) == {"key": ""}


@pytest.mark.parametrize("field", ["name", "base_url", "key", "models"])
def test_a_new_channel_needs_the_required_fields(field: str) -> None:
    values = {k: v for k, v in NEW_CHANNEL.items() if k != field}
    expected = "Enter at least one key." if field == "key" else "This field is required."
    assert form_errors(values) == {field: [expected]}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"base_url": "api.example.net"}, "base_url", "http:// or https://"),
        ({"base_url": "ftp://example.net"}, "base_url", "http:// or https://"),
        ({"base_url": "http://"}, "base_url", "http:// or https://"),
        ({"base_url": ["http://x.test"]}, "base_url", "URL"),
        ({"weight": -1}, "weight", "Must be at least 0."),
        ({"weight": 2.0}, "weight", "whole number"),
        ({"weight": "ten"}, "weight", "whole number"),
        ({"weight": "1_000"}, "weight", "whole number"),
        ({"weight": "²"}, "weight", "whole number"),
        ({"weight": False}, "weight", "whole number"),
        ({"weight": [1]}, "weight", "whole number"),
        ({"weight": None}, "weight", "required"),
        # A number past the limit says the limit.
        ({"weight": 2**31}, "weight", "Must be at most 2147483647."),
        ({"priority": -(2**31)}, "priority", "Must be at least -2147483647."),
        ({"priority": "9" * 30}, "priority", "whole number"),
        ({"priority": "1e3"}, "priority", "whole number"),
        ({"status": "ENABLED"}, "status", "Unknown status. Choose one of: enabled, disabled"),
        ({"type": "gemini"}, "type", "Unknown type. Choose one of: openai, anthropic, azure."),
        ({"name": "  "}, "name", "required"),
        ({"name": 3}, "name", "Must be a string."),
        ({"name": "n" * 101}, "name", "At most 100 characters."),
        ({"key": "two words"}, "key", "without spaces"),
        ({"key": 12345}, "key", "without spaces"),
        ({"models": ["a", 1]}, "models", "list of strings"),
        ({"models": {"a": "b"}}, "models", "list of strings"),
        ({"models": [" ", ""]}, "models", "required"),
        ({"groups": []}, "groups", "At least one"),
        ({"model_mapping": {"a": "b", "b": "a"}}, "model_mapping", "cycle"),
        ({"model_mapping": "a=b"}, "model_mapping", "JSON object"),
        ({"test_model": ["m"]}, "test_model", "string"),
        ({"api_key": CHANNEL_KEY}, "api_key", "Unknown field"),
    ],
)
def test_it_rejects_bad_values(changes: dict[str, Any], field: str, words: str) -> None:
    errors = form_errors({**NEW_CHANNEL, **changes})
    assert list(errors) == [field]
    assert any(words in message for message in errors[field]), errors


def test_it_reports_all_bad_fields_together() -> None:
    errors = form_errors({"base_url": "x", "weight": -1, "status": "?", "extra": 1})
    assert set(errors) == {"name", "key", "models", "base_url", "weight", "status", "extra"}


def test_an_unknown_name_is_cut_to_a_readable_length() -> None:
    errors = form_errors({**NEW_CHANNEL, "x" * 5000: 1})
    assert list(errors) == ["x" * 100]


def test_the_biggest_allowed_numbers_pass() -> None:
    values = form_cleaned({**NEW_CHANNEL, "weight": 2**31 - 1, "priority": -(2**31 - 1)})
    assert (values["weight"], values["priority"]) == (2**31 - 1, -(2**31 - 1))


def test_the_api_may_set_any_status() -> None:
    assert form_cleaned({**NEW_CHANNEL, "status": "auto_disabled"})["status"] == "auto_disabled"


# --- the key follows the address ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "", "absent"])
def test_a_new_address_needs_the_key_again(channel: Channel, key: Any) -> None:
    values: dict[str, Any] = {"base_url": "https://other.example.net/v1"}
    if key != "absent":
        values["key"] = key
    [message] = form_errors(values, channel=channel)["key"]
    assert message.startswith("The address or type changed: enter the API key again.")


@pytest.mark.django_db
def test_a_changed_type_needs_the_key_again(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(type="legacy")
    channel.refresh_from_db()
    assert list(form_errors({"type": "openai"}, channel=channel)) == ["key"]


@pytest.mark.django_db
def test_a_new_address_with_the_key_is_clean(channel: Channel) -> None:
    values = {"base_url": "https://other.example.net/v1/", "key": "sk-other-key-00001111"}
    assert form_cleaned(values, channel=channel) == {
        "base_url": "https://other.example.net/v1",
        "key": "sk-other-key-00001111",
    }


@pytest.mark.django_db
def test_a_bad_new_key_is_reported_once(channel: Channel) -> None:
    values = {"base_url": "https://other.example.net/v1", "key": "two words"}
    [message] = form_errors(values, channel=channel)["key"]
    assert "without spaces" in message
