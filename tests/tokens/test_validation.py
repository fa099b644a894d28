"""tokens.validation: each token field's check, before any database sees the value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tokens.validation import clean_allowed_ips, clean_allowed_models, parse_expiry

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


# --- the edges of the calendar -----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59+14:00",
        "9999-06-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-12:00",
        "0001-01-01T00:00:00",
        "1999-12-31T23:59:59Z",
        "2000-01-01T01:00:00+02:00",
    ],
)
def test_it_refuses_times_outside_the_supported_range(value: str) -> None:
    with pytest.raises(ValueError, match="from 2000-01-01 up to, but not including, 9999-01-01"):
        parse_expiry(value)


def test_a_naive_time_at_the_edge_is_refused_in_any_server_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: 0001-01-01 has no UTC equivalent
    with pytest.raises(ValueError, match="2000-01-01"):
        parse_expiry("0001-01-01T00:00:00")


def test_an_aware_datetime_at_the_edge_is_refused() -> None:
    edge = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    with pytest.raises(ValueError, match="9999-01-01"):
        parse_expiry(edge)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("9998-12-31T23:59:59Z", datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_it_accepts_the_range_including_the_past(value: str, expected: datetime) -> None:
    # A past expiry is allowed: it is how an admin expires a token now.
    assert parse_expiry(value) == expected


@pytest.mark.parametrize("value", ["2030-01-01T00:00:00Z\x00", "2030-01-01T00:00:00Z" + " " * 64])
def test_it_refuses_nul_and_over_long_dates(value: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_expiry(value)


# --- list sizes ---------------------------------------------------------------------------


def test_it_caps_allowed_models() -> None:
    assert len(clean_allowed_models([f"m{i}" for i in range(1000)])) == 1000
    with pytest.raises(ValueError, match="At most 1000 models"):
        clean_allowed_models([f"m{i}" for i in range(1001)])


def test_it_caps_allowed_models_before_looking_at_them() -> None:
    # Thirty thousand names: refused on their count, whatever they hold.
    with pytest.raises(ValueError, match="At most 1000 models"):
        clean_allowed_models(["\x00"] * 30_000)


def test_it_dedupes_models_keeping_their_order() -> None:
    assert clean_allowed_models(["b", "a", "b", " a "]) == ["b", "a"]


def test_it_caps_allowed_ips() -> None:
    addresses = [f"10.0.{i // 256}.{i % 256}" for i in range(101)]
    assert len(clean_allowed_ips(addresses[:100])) == 100
    with pytest.raises(ValueError, match="At most 100 addresses or ranges"):
        clean_allowed_ips(addresses)


def test_blank_lines_do_not_count_towards_the_cap() -> None:
    assert clean_allowed_ips("10.0.0.1\n" + "\n" * 500) == ["10.0.0.1/32"]
