"""Pricing a request and holding its possible cost against its token's quota and budgets.

Before anything is sent upstream: the price of the model the client asked for (before any
mapping) and the token group's multiplier are noted on the request's meter; a token with a
quota or budget then reserves what the request may cost (usage/quota.py: one conditional
update) or is refused. The usage writer settles the reservation to the real cost with the
request's record, on every way out (metering.py prices the answer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from core.errors import ApiError
from core.money import format_money
from gateway import metrics
from gateway.relay.db import db_call
from gateway.relay.metering import Meter
from gateway.relay.token_check import TokenRecord
from usage import quota
from usage.counting import estimate_prompt_tokens
from usage.pricing import Price, PriceBook

# Where an answer's length is bounded by the request, and where it is text to reserve for.
COMPLETION_LIMIT_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
TEXT_PATHS = frozenset({"/chat/completions", "/completions", "/responses", "/messages"})
# Endpoints that answer about a request instead of answering it (Anthropic does not bill them).
FREE_PATHS = frozenset({"/messages/count_tokens"})
FREE = Price()
# Beyond any real request: a body asking for more is reserved for this much.
MAX_COUNTED_TOKENS = 10_000_000

RAN_OUT = {
    quota.QUOTA: "This token's quota is used up.",
    quota.DAILY: "This token's daily budget is used up; it renews at midnight.",
    quota.MONTHLY: "This token's monthly budget is used up; it renews on the 1st.",
}

Reserve = Callable[[int, int, quota.Period], Awaitable[str | None]]


async def reserve_in_database(token_id: int, amount: int, period: quota.Period) -> str | None:
    return await db_call(quota.reserve, token_id, amount, period)


def completion_bound(payload: dict[str, Any] | None, path: str, default: int) -> int:
    """The most completion tokens the request can be answered with (as far as it says)."""
    if payload is None or path not in TEXT_PATHS:
        return 0
    bound = default
    for name in COMPLETION_LIMIT_FIELDS:
        value = payload.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            bound = value
            break
    choices = payload.get("n")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        bound *= choices
    return min(bound, MAX_COUNTED_TOKENS)


class Billing:
    def __init__(
        self, *, reserve_completion_tokens: int, reserve: Reserve = reserve_in_database
    ) -> None:
        self.reserve_completion_tokens = reserve_completion_tokens
        self._reserve = reserve

    async def admit(
        self, token: TokenRecord, model: str, path: str, meter: Meter, prices: PriceBook
    ) -> None:
        """Price the request; hold its possible cost if the token has limits, or refuse it."""
        if path in FREE_PATHS:
            meter.price = FREE  # counting tokens is no answer: never billed, never refused
            return
        price = meter.price = prices.price(model)
        multiplier = meter.multiplier = prices.multiplier(token.group)
        if not token.spending_limited:
            return
        if price is None:
            metrics.quota_rejected("model_not_priced")
            raise ApiError(
                403,
                f"The model `{model}` has no price yet, and this token has a quota or budget: "
                "ask the gateway's admin to price it.",
                code="model_not_priced",
                param="model",
            )
        amount = price.cost(
            min(estimate_prompt_tokens(meter.payload), MAX_COUNTED_TOKENS),
            completion_bound(meter.payload, path, self.reserve_completion_tokens),
            multiplier,
        )
        period = quota.Period.at(meter.entry.created_at)
        ran_out = await self._reserve(token.id, amount, period)
        if ran_out is None:
            entry = meter.entry
            entry.reserved, entry.day, entry.month = amount, period.day, period.month
            return
        if ran_out == "":
            raise ApiError(401, "Invalid API key.", code="invalid_api_key")
        metrics.quota_rejected(ran_out)
        raise ApiError(
            429,
            f"{RAN_OUT[ran_out]} This request could cost up to {_amount(amount)}; lower "
            "max_tokens or ask the gateway's admin for more.",
            code="insufficient_quota",
            type="insufficient_quota",
        )


def _amount(units: int) -> str:
    return f"{format_money(units)} {settings.CURRENCY}"
