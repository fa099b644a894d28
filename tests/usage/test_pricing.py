"""A request's cost from its model's price and its group's multiplier, exact to the unit."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

from core.money import MAX_UNITS
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


def test_a_six_decimal_multiplier_rounds_half_up_once() -> None:
    price = Price(per_request=5)

    assert price.cost(0, 0, Decimal("0.100000")) == 1  # 0.5 units: up
    assert price.cost(0, 0, Decimal("0.099999")) == 0  # 0.499995: down
    assert price.cost(0, 0, Decimal("0.300001")) == 2  # 1.500005: up


def test_it_agrees_with_decimal_arithmetic_to_the_unit() -> None:
    rng = random.Random(12)
    for _ in range(2000):
        price = Price(
            input_per_million=rng.randrange(0, 100 * DOLLAR),
            output_per_million=rng.randrange(0, 100 * DOLLAR),
            per_request=rng.choice((0, rng.randrange(0, DOLLAR))),
        )
        prompt, completion = rng.randrange(0, 2_000_000), rng.randrange(0, 200_000)
        multiplier = Decimal(rng.randrange(0, 10_000_000)) / 1_000_000
        tokens = prompt * price.input_per_million + completion * price.output_per_million
        exact = (Decimal(tokens) / 1_000_000 + price.per_request) * multiplier

        assert price.cost(prompt, completion, multiplier) == int(
            exact.to_integral_value(rounding=ROUND_HALF_UP)
        )


def test_an_absurd_cost_stops_where_a_money_column_ends() -> None:
    price = Price(input_per_million=MAX_UNITS)

    assert price.cost(10**9, 0, Decimal(1000)) == MAX_UNITS
