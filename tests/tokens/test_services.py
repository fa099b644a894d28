"""tokens.services: validation, keyed-hash storage and lookups."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from gateway.crypto import keyed_hash
from gateway.state import read_db_version
from tokens.models import AdminKey, Token
from tokens.services import (
    admin_key_create,
    admin_key_find,
    admin_key_revoke,
    clean_allowed_ips,
    clean_token_data,
    parse_expiry,
    token_as_dict,
    token_create,
    token_delete,
    token_find,
    token_update,
)

# --- parse_expiry ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_no_expiry(value: Any) -> None:
    assert parse_expiry(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2030-01-31T23:59:00Z", datetime(2030, 1, 31, 23, 59, tzinfo=UTC)),
        ("2030-01-31T23:59:00+08:00", datetime(2030, 1, 31, 15, 59, tzinfo=UTC)),
        (" 2030-01-31 23:59:00.5-01:00 ", datetime(2030, 2, 1, 0, 59, 0, 500000, tzinfo=UTC)),
    ],
)
def test_it_parses_iso_8601(value: str, expected: datetime) -> None:
    assert parse_expiry(value) == expected


def test_a_naive_time_is_read_in_the_server_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    parsed = parse_expiry("2030-06-01T08:00:00")
    assert parsed == datetime(2030, 6, 1, 0, 0, tzinfo=UTC)


def test_an_aware_datetime_passes_through() -> None:
    value = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert parse_expiry(value) == value


@pytest.mark.parametrize(
    "value", ["tomorrow", "2030-02-30T00:00:00Z", "2030-01-01T25:00:00Z", 1700000000, [], {}]
)
def test_it_rejects_what_is_not_a_date(value: Any) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_expiry(value)


# --- clean_allowed_ips -------------------------------------------------------------------


def test_it_normalises_addresses_and_ranges() -> None:
    assert clean_allowed_ips(["10.1.2.3", "192.168.7.9/24", "2001:db8::1/64", "::1"]) == [
        "10.1.2.3/32",
        "192.168.7.0/24",
        "2001:db8::/64",
        "::1/128",
    ]


def test_it_dedupes_and_skips_blanks() -> None:
    assert clean_allowed_ips(["10.0.0.1", " 10.0.0.1/32 ", "", "  "]) == ["10.0.0.1/32"]


def test_it_takes_a_comma_or_newline_separated_string() -> None:
    assert clean_allowed_ips("10.0.0.1, 10.0.1.0/24\n::1") == [
        "10.0.0.1/32",
        "10.0.1.0/24",
        "::1/128",
    ]


@pytest.mark.parametrize("value", ["10.0.0.256", "10.0.0.0/33", "example.com", "1.2.3", "::g"])
def test_it_names_a_bad_address(value: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address or CIDR range") as info:
        clean_allowed_ips(["10.0.0.1", value])
    assert value in str(info.value)


@pytest.mark.parametrize("value", [5, {"ip": "1.2.3.4"}, [1]])
def test_it_needs_a_list_of_strings(value: Any) -> None:
    with pytest.raises(ValueError, match="list of IP addresses"):
        clean_allowed_ips(value)


# --- clean_token_data --------------------------------------------------------------------


def errors_of(data: dict[str, Any], *, partial: bool = False) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        clean_token_data(data, partial=partial)
    return info.value.message_dict


def test_it_cleans_a_full_token() -> None:
    cleaned = clean_token_data(
        {
            "name": " Alice ",
            "group": " vip ",
            "status": "disabled",
            "expires_at": "2030-01-01T00:00:00Z",
            "models": ["gpt-4o", " gpt-4o ", "", "o1"],
            "allowed_ips": ["10.0.0.1"],
        },
        partial=False,
    )
    assert cleaned == {
        "name": "Alice",
        "group": "vip",
        "status": "disabled",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
        "allowed_models": ["gpt-4o", "o1"],
        "allowed_ips": ["10.0.0.1/32"],
    }


def test_null_lists_mean_none() -> None:
    cleaned = clean_token_data({"models": None, "allowed_ips": None}, partial=True)
    assert cleaned == {"allowed_models": [], "allowed_ips": []}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "name", "required"),
        ({"name": "x" * 101}, "name", "100"),
        ({"name": "a", "group": "g" * 65}, "group", "64"),
        ({"name": "a", "status": "expired"}, "status", "Unknown status"),
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


def test_it_reports_all_bad_fields_together() -> None:
    errors = errors_of({"status": "?", "expires_at": "?", "allowed_ips": ["?"]})
    assert set(errors) == {"name", "status", "expires_at", "allowed_ips"}


# --- tokens in the database --------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_key_is_stored_only_as_a_keyed_hash() -> None:
    token, key = token_create(name="Alice")
    assert key.startswith("sk-") and len(key) == 51
    row = Token.objects.values().get(pk=token.pk)
    assert all(key not in str(value) for value in row.values())
    assert all(key[11:] not in str(value) for value in row.values())
    assert row["prefix"] == key[:11]
    assert row["key_hash"] == keyed_hash(key)
    # Keyed: a plain digest of the key, which anyone could compute, is not what is stored.
    assert row["key_hash"] != hashlib.sha256(key.encode()).hexdigest()
    assert token_as_dict(token)["prefix"] == key[:11] + "…"
    assert key not in repr(token_as_dict(token))


@pytest.mark.django_db
def test_each_token_gets_its_own_key() -> None:
    keys = {token_create(name=f"t{i}")[1] for i in range(5)}
    assert len(keys) == 5


@pytest.mark.django_db
def test_token_find() -> None:
    token, key = token_create(name="Alice")
    other, other_key = token_create(name="Bob")
    assert token_find(key) == token
    assert token_find(other_key) == other
    # Same prefix, different tail: the hash decides.
    assert token_find(key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    assert token_find(key[:11]) is None
    assert token_find("") is None
    assert token_find("tga-" + key[3:]) is None


@pytest.mark.django_db
def test_create_saves_nothing_when_invalid() -> None:
    version = read_db_version()
    with pytest.raises(ValidationError):
        token_create(name="Alice", allowed_ips=["nope"])
    assert not Token.objects.exists()
    assert read_db_version() == version


@pytest.mark.django_db
def test_update_and_delete_tell_the_relay() -> None:
    token, key = token_create(name="Alice")
    version = read_db_version()
    token_update(token=token, changes={"status": "disabled"})
    assert Token.objects.get().status == "disabled"
    assert token_find(key) == token
    token_delete(token=token)
    assert token_find(key) is None
    assert read_db_version() == version + 2


@pytest.mark.django_db
def test_a_rejected_update_changes_nothing() -> None:
    token, _ = token_create(name="Alice")
    before = Token.objects.values().get()
    with pytest.raises(ValidationError):
        token_update(token=token, changes={"name": "Bob", "expires_at": "never"})
    assert token.name == "Alice"
    assert Token.objects.values().get() == before


# --- admin keys --------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_keys_are_stored_as_keyed_hashes() -> None:
    admin_key, key = admin_key_create(name=" ci ")
    assert admin_key.name == "ci"
    assert key.startswith("tga-") and len(key) == 44
    row = AdminKey.objects.values().get()
    assert all(key not in str(value) for value in row.values())
    assert row["key_hash"] == keyed_hash(key)
    assert admin_key_find(key) == admin_key
    assert admin_key_find(key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    assert admin_key_find("sk-" + key[4:]) is None


@pytest.mark.django_db
def test_a_downstream_token_is_not_an_admin_key() -> None:
    _, token_key = token_create(name="Alice")
    assert admin_key_find(token_key) is None


@pytest.mark.django_db
def test_a_revoked_admin_key_is_not_found() -> None:
    admin_key, key = admin_key_create(name="ci")
    admin_key_revoke(admin_key=admin_key)
    assert admin_key_find(key) is None


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
def test_an_admin_key_needs_a_name(name: str) -> None:
    with pytest.raises(ValidationError):
        admin_key_create(name=name)
    assert not AdminKey.objects.exists()
