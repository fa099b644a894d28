"""A request's cost from its model's price and its group's multiplier, exact to the unit."""

from __future__ import annotations

from decimal import Decimal

from usage.pricing import Price, PriceBook

DOLLAR = 10**9


def test_it_charges_prompt_and_completion_per_million() -> None:
    # $0.15 / $0.60 per million (gpt-4o-mini): 1,000 in and 500 out.
    price = Price(input_per_million=150_000_000, output_per_million=600_000_000)

    assert price.cost(1000, 500) == 150_000 + 300_000


def test_the_multiplier_applies_to_every_part() -> None:
    price = Price(input_per_million=DOLLAR, output_per_million=2 * DOLLAR, per_request=DOLLAR)

    assert price.cost(1_000_000, 1_000_000, Decimal("1.5")) == int(1.5 * 4 * DOLLAR)


def test_a_fraction_of_a_unit_rounds_half_up_once() -> None:
    price = Price(input_per_million=1)  # a billionth per million tokens

    assert price.cost(499_999, 0) == 0
    assert price.cost(500_000, 0) == 1
    assert price.cost(1_500_000, 0) == 2


def test_a_per_request_price_alone() -> None:
    assert Price(per_request=20_000_000).cost(0, 0, Decimal("0.5")) == 10_000_000


def test_the_book_finds_prices_by_model_and_defaults_the_multiplier_to_one() -> None:
    book = PriceBook(prices={"org/model": Price(per_request=1)}, multipliers={"vip": Decimal(2)})

    assert book.price("org/model") == Price(per_request=1)
    assert book.price("other") is None
    assert book.multiplier("vip") == 2
    assert book.multiplier("default") == 1
