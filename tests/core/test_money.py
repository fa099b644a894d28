"""Money kept as whole units of a billionth: read from the API's strings or numbers, shown back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.money import MAX_UNITS, MoneyError, display_money, format_money, parse_money


@pytest.mark.parametrize(
    ("given", "units"),
    [
        ("2.50", 2_500_000_000),
        ("0.000000001", 1),
        (3, 3_000_000_000),
        (0.15, 150_000_000),
        ("  7 ", 7_000_000_000),
        (Decimal("0.075"), 75_000_000),
        ("0", 0),
    ],
)
def test_it_reads_strings_and_numbers_exactly(given: object, units: int) -> None:
    assert parse_money(given) == units


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("-1", "negative"),
        ("0.0000000001", "9 decimal places"),
        ("abc", "not an amount"),
        ("NaN", "not an amount"),
        ("Infinity", "not an amount"),
        (True, "number or a decimal string"),
        (None, "number or a decimal string"),
        ([1], "number or a decimal string"),
        ("1e30", "more than"),
    ],
)
def test_it_refuses_what_it_cannot_keep_exactly(given: object, says: str) -> None:
    with pytest.raises(MoneyError, match=says):
        parse_money(given)


def test_the_largest_amount_fits_a_64_bit_column() -> None:
    assert parse_money(format_money(MAX_UNITS)) == MAX_UNITS


@pytest.mark.parametrize(
    ("units", "text"),
    [(0, "0"), (12_500_000_000, "12.5"), (15_000, "0.000015"), (1, "0.000000001"), (None, None)],
)
def test_it_formats_without_float_noise(units: int | None, text: str | None) -> None:
    assert format_money(units) == text


def test_pages_show_at_least_cents_and_the_currency() -> None:
    assert display_money(5_000_000_000, "USD") == "USD 5.00"
    assert display_money(1_500_000, "CNY") == "CNY 0.0015"
    assert display_money(None, "USD") == "—"
