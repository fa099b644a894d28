"""tokens.forms: the one place token and admin-key input is checked (pages, API, manage.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tokens.forms import AdminKeyForm, TokenForm


def cleaned(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    form = TokenForm.from_json(data, partial=partial)
    assert form.is_valid(), form.errors
    return form.cleaned_data


def errors_of(data: dict[str, Any], *, partial: bool = False) -> dict[str, list[str]]:
    form = TokenForm.from_json(data, partial=partial)
    assert not form.is_valid()
    return form.validation_error().message_dict


# --- a whole token (create) ----------------------------------------------------------------


def test_it_cleans_a_full_token() -> None:
    assert cleaned(
        {
            "name": " Alice ",
            "group": " vip ",
            "status": "disabled",
            "expires_at": "2030-01-01T00:00:00Z",
            "models": ["gpt-4o", " gpt-4o ", "", "o1"],
            "allowed_ips": ["10.0.0.1"],
            "rpm_limit": "60",
            "tpm_limit": 40000,
            "quota_limit": "25.5",
            "daily_budget": 2,
            "monthly_budget": None,
        }
    ) == {
        "name": "Alice",
        "group": "vip",
        "status": "disabled",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
        "models": ["gpt-4o", "o1"],
        "allowed_ips": ["10.0.0.1/32"],
        "rpm_limit": 60,
        "tpm_limit": 40000,
        "quota_limit": 25_500_000_000,
        "daily_budget": 2_000_000_000,
        "monthly_budget": None,
    }


def test_absent_fields_take_their_defaults() -> None:
    assert cleaned({"name": "Alice"}) == {
        "name": "Alice",
        "group": "default",
        "status": "enabled",
        "expires_at": None,
        "models": [],
        "allowed_ips": [],
        "rpm_limit": None,
        "tpm_limit": None,
        "quota_limit": None,
        "daily_budget": None,
        "monthly_budget": None,
    }


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": 5}, "name", "non-empty string"),
        ({"name": "x" * 101}, "name", "100"),
        ({"name": "a", "group": ""}, "group", "non-empty"),
        ({"name": "a", "group": None}, "group", "non-empty"),
        ({"name": "a", "group": "g" * 65}, "group", "64"),
        ({"name": "a", "status": "expired"}, "status", "Unknown status"),
        ({"name": "a", "status": None}, "status", "Unknown status"),
        ({"name": "a", "expires_at": "soon"}, "expires_at", "ISO 8601"),
        ({"name": "a", "models": 3}, "models", "list of model names"),
        ({"name": "a", "allowed_ips": ["300.1.1.1"]}, "allowed_ips", "300.1.1.1"),
        ({"name": "a", "key": "sk-mine"}, "key", "Unknown field"),
    ],
)
def test_it_rejects_bad_values(data: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of(data)
    assert list(errors) == [field]
    assert any(words in message for message in errors[field]), errors


def test_it_reports_all_bad_fields_together_unknown_ones_first() -> None:
    errors = errors_of({"status": "?", "expires_at": "?", "allowed_ips": ["?"], "extra": 1})
    assert next(iter(errors)) == "extra"
    assert set(errors) == {"extra", "name", "status", "expires_at", "allowed_ips"}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": "a\x00b"}, "name", "NUL"),
        ({"name": "\x00"}, "name", "NUL"),
        ({"name": "n" * 101}, "name", "At most 100 characters"),
        ({"name": "a", "group": "g\x00"}, "group", "NUL"),
        ({"name": "a", "group": "g" * 65}, "group", "At most 64 characters"),
        ({"name": "a", "models": ["gpt\x00"]}, "models", "NUL"),
        ({"name": "a", "models": "gpt-4o,\x00"}, "models", "NUL"),
        ({"name": "a", "models": ["m" * 201]}, "models", "longer than 200 characters"),
        ({"name": "a", "allowed_ips": ["10.0.0.1\x00"]}, "allowed_ips", "NUL"),
        ({"name": "a", "allowed_ips": ["1" * 65]}, "allowed_ips", "not an IP address"),
        ({"name": "a", "expires_at": "2030\x00"}, "expires_at", "ISO 8601"),
        ({"name": "a", "status": "enabled\x00"}, "status", "Unknown status"),
    ],
)
def test_it_names_nul_characters_and_over_long_text(
    data: dict[str, Any], field: str, words: str
) -> None:
    errors = errors_of(data)
    assert list(errors) == [field]
    assert any(words in message for message in errors[field]), errors


def test_a_refused_value_is_echoed_only_in_part() -> None:
    errors = errors_of({"name": "a", "models": ["m" * 100_000]})
    assert max(len(message) for message in errors["models"]) < 200


def test_names_of_the_longest_allowed_length_pass() -> None:
    data = cleaned({"name": "n" * 100, "group": "g" * 64, "models": ["m" * 200]})
    assert (data["name"], data["group"], data["models"]) == ("n" * 100, "g" * 64, ["m" * 200])


# --- a PATCH: only what it names ----------------------------------------------------------


def test_a_patch_checks_and_returns_only_the_fields_it_names() -> None:
    assert cleaned({"status": "disabled"}, partial=True) == {"status": "disabled"}
    assert cleaned({}, partial=True) == {}


def test_null_lists_mean_none() -> None:
    assert cleaned({"models": None, "allowed_ips": None}, partial=True) == {
        "models": [],
        "allowed_ips": [],
    }


def test_a_null_name_is_refused_on_update() -> None:
    assert "non-empty" in errors_of({"name": None}, partial=True)["name"][0]


def test_a_patch_refuses_unknown_fields() -> None:
    assert errors_of({"prefix": "sk-x"}, partial=True) == {"prefix": ["Unknown field."]}


# --- the pages' form ----------------------------------------------------------------------


def test_the_page_accepts_only_offered_models() -> None:
    data = {"name": "a", "group": "default", "status": "enabled", "models": ["b"]}
    form = TokenForm(data, offered_models=["a"])
    assert not form.is_valid()
    assert "Select a valid choice" in form.errors["models"][0]
    assert TokenForm(data, offered_models=["a", "b"]).is_valid()


# --- admin key names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [("", "non-empty"), ("  ", "non-empty"), (None, "non-empty"), ("c\x00i", "NUL")],
)
def test_an_admin_key_name_is_checked(name: Any, words: str) -> None:
    form = AdminKeyForm.from_json({"name": name}, partial=False)
    assert not form.is_valid()
    assert words in form.errors["name"][0]


def test_an_admin_key_name_has_at_most_100_characters() -> None:
    form = AdminKeyForm({"name": " " + "k" * 100 + " "})
    assert form.is_valid()
    assert form.cleaned_data["name"] == "k" * 100
    too_long = AdminKeyForm({"name": "k" * 101})
    assert not too_long.is_valid()
    assert "At most 100" in too_long.errors["name"][0]
