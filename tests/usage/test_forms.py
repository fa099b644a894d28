"""usage.forms: the one place price and group-multiplier input is checked (page and API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from usage.forms import GroupMultiplierForm, PriceForm
from usage.models import ModelPrice


def price_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    form = PriceForm.from_json(data, partial=False)
    assert not form.is_valid()
    return form.validation_error().message_dict


def test_a_price_takes_strings_and_numbers_in_units() -> None:
    form = PriceForm.from_json(
        {"model": " org/model-x ", "input_per_million": "2.5", "output_per_million": 10},
        partial=False,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "model": "org/model-x",
        "input_per_million": 2_500_000_000,
        "output_per_million": 10_000_000_000,
        "per_request": 0,
    }


def test_blank_boxes_on_the_page_mean_zero() -> None:
    form = PriceForm(
        {"model": "m", "input_per_million": "", "output_per_million": " ", "per_request": "1"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["input_per_million"] == 0
    assert form.cleaned_data["output_per_million"] == 0
    assert form.cleaned_data["per_request"] == 1_000_000_000


def test_the_smallest_amount_is_a_billionth() -> None:
    form = PriceForm.from_json({"model": "m", "per_request": "0.000000001"}, partial=False)
    assert form.is_valid()
    assert form.cleaned_data["per_request"] == 1


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "model", "required"),
        ({"model": "  "}, "model", "non-empty string"),
        ({"model": 5}, "model", "non-empty string"),
        ({"model": "a\nb"}, "model", "control characters"),
        ({"model": "a\x00b"}, "model", "control characters"),
        ({"model": "m" * 257}, "model", "256"),
        ({"model": "m", "input_per_million": -1}, "input_per_million", "negative"),
        ({"model": "m", "output_per_million": False}, "output_per_million", "number"),
        ({"model": "m", "per_request": "1.2345678901"}, "per_request", "9 decimal places"),
        ({"model": "m", "per_request": "abc"}, "per_request", "not an amount"),
        ({"model": "m", "per_request": {"usd": 1}}, "per_request", "number"),
    ],
)
def test_a_price_names_the_bad_field(data: dict[str, Any], field: str, words: str) -> None:
    errors = price_errors(data)
    assert list(errors) == [field]
    assert any(words in message for message in errors[field]), errors


def test_the_form_shows_a_price_as_decimal_strings() -> None:
    price = ModelPrice(model="m", input_per_million=2_500_000_000, per_request=15)
    form = PriceForm(price=price)
    assert form["model"].value() == "m"
    assert form["input_per_million"].value() == "2.5"
    assert form["output_per_million"].value() == "0"
    assert form["per_request"].value() == "0.000000015"


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("1.5", Decimal("1.5")),
        (2, Decimal(2)),
        (0.1, Decimal("0.1")),
        ("0", Decimal(0)),
        ("1e3", Decimal(1000)),
        ("999999.999999", Decimal("999999.999999")),
    ],
)
def test_a_multiplier_takes_strings_and_numbers(value: Any, clean: Decimal) -> None:
    form = GroupMultiplierForm.from_json({"name": "vip", "price_multiplier": value}, partial=False)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"name": "vip", "price_multiplier": clean}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (True, "number or a decimal string"),
        (None, "required"),
        ("", "required"),
        ("abc", "number or a decimal string"),
        ("NaN", "number or a decimal string"),
        ("-0.1", "negative"),
        ("0.0000001", "6 decimal places"),
        (1e-7, "6 decimal places"),
        ("1000000", "more than 999999.999999"),
        ("1" * 50, "number or a decimal string"),
    ],
)
def test_a_bad_multiplier_is_refused(value: Any, words: str) -> None:
    form = GroupMultiplierForm.from_json({"name": "vip", "price_multiplier": value}, partial=False)
    assert not form.is_valid()
    messages = form.errors["price_multiplier"]
    assert any(words in message for message in messages), messages


def test_a_group_name_is_checked_like_a_tokens_group() -> None:
    form = GroupMultiplierForm.from_json({"name": "g" * 65, "price_multiplier": 1}, partial=False)
    assert not form.is_valid()
    assert form.errors["name"] == ["At most 64 characters."]
