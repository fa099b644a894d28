"""Prices as the relay reads them: a snapshot of every model's price and group multiplier.

Loaded with the routing table (the relay reloads both when an admin changes either), so
pricing a request costs no database work. Pure: `cost` is exact integer arithmetic on
core.money units, rounded once, half up. The multiplier's exact fraction takes part as two
integers: the same sum in Decimal took twice the time, about 6,000 instructions a request
(callgrind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import MAX_UNITS
from usage.models import GroupMultiplier, ModelPrice

ONE = Decimal(1)
MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    input_per_million: int = 0
    output_per_million: int = 0
    per_request: int = 0

    def cost(self, prompt_tokens: int, completion_tokens: int, multiplier: Decimal = ONE) -> int:
        """(prompt * input + completion * output) / 1e6 + per request, all * the multiplier."""
        tokens = (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        )
        times, per = (1, 1) if multiplier == ONE else multiplier.as_integer_ratio()
        # (tokens / 1e6 + per_request) * times / per, as one fraction of integers.
        numerator = (tokens + self.per_request * MILLION) * times
        denominator = MILLION * per
        # Half up: floor(n / d + 1/2). Nothing here is negative: prices and multipliers are
        # refused below zero, and token counts are read as at least zero (usage/counting.py).
        units = (2 * numerator + denominator) // (2 * denominator)
        # Capped where a money column ends: only absurd prices times absurd counts reach it.
        return min(units, MAX_UNITS)


@dataclass(frozen=True, slots=True)
class PriceBook:
    prices: Mapping[str, Price] = field(default_factory=dict)
    multipliers: Mapping[str, Decimal] = field(default_factory=dict)

    def price(self, model: str) -> Price | None:
        return self.prices.get(model)

    def multiplier(self, group: str) -> Decimal:
        return self.multipliers.get(group, ONE)


EMPTY_PRICE_BOOK = PriceBook()


def load_price_book() -> PriceBook:
    """Every price and multiplier, from the database (the relay calls it in its DB thread)."""
    return PriceBook(
        prices={
            row.model: Price(row.input_per_million, row.output_per_million, row.per_request)
            for row in ModelPrice.objects.all()
        },
        multipliers={
            row.name: Decimal(row.price_multiplier) for row in GroupMultiplier.objects.all()
        },
    )
