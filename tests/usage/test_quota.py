"""Reserving a request's possible cost against a token's quota and budgets, and settling it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.support.factories import make_token
from tokens.models import Token
from usage.quota import DAILY, MONTHLY, QUOTA, Period, Settlement, release, reserve, settle

pytestmark = pytest.mark.django_db

TODAY = Period(day=dt.date(2026, 11, 26), month=dt.date(2026, 11, 1))
TOMORROW = Period(day=dt.date(2026, 11, 27), month=dt.date(2026, 11, 1))
NEXT_MONTH = Period(day=dt.date(2026, 12, 1), month=dt.date(2026, 12, 1))


def limited(**fields: Any) -> Token:
    token = make_token().token
    Token.objects.filter(pk=token.pk).update(**fields)
    return Token.objects.get(pk=token.pk)


def fresh(token: Token) -> Token:
    return Token.objects.get(pk=token.pk)


def test_a_request_that_fits_is_held() -> None:
    token = limited(quota_limit=100)

    assert reserve(token.pk, 60, TODAY) is None

    assert (fresh(token).quota_used, fresh(token).quota_reserved) == (0, 60)


def test_what_is_held_counts_against_the_next_request() -> None:
    token = limited(quota_limit=100)
    reserve(token.pk, 60, TODAY)

    assert reserve(token.pk, 41, TODAY) == QUOTA
    assert reserve(token.pk, 40, TODAY) is None  # exactly the quota: admitted
    assert fresh(token).quota_reserved == 100


def test_a_token_without_limits_is_always_admitted() -> None:
    token = make_token().token

    assert reserve(token.pk, 10**15, TODAY) is None


def test_it_says_which_limit_ran_out() -> None:
    daily = limited(daily_budget=10)
    monthly = limited(monthly_budget=10, daily_budget=100)

    assert reserve(daily.pk, 11, TODAY) == DAILY
    assert reserve(monthly.pk, 11, TODAY) == MONTHLY
    assert reserve(10**9, 1, TODAY) == ""  # no such token


def test_settling_moves_the_hold_to_the_real_cost() -> None:
    token = limited(quota_limit=100, daily_budget=100, monthly_budget=100)
    reserve(token.pk, 60, TODAY)

    settle([Settlement(token_id=token.pk, reserved=60, cost=25, period=TODAY)])

    token = fresh(token)
    assert (token.quota_used, token.quota_reserved) == (25, 0)
    assert (token.daily_used, token.daily_reserved, token.daily_period) == (25, 0, TODAY.day)
    assert (token.monthly_used, token.monthly_reserved) == (25, 0)


def test_a_release_gives_the_whole_hold_back() -> None:
    token = limited(quota_limit=100)
    reserve(token.pk, 60, TODAY)

    release(token.pk, 60, TODAY)

    assert (fresh(token).quota_used, fresh(token).quota_reserved) == (0, 0)
    assert reserve(token.pk, 100, TODAY) is None


def test_the_daily_budget_starts_again_the_next_day() -> None:
    token = limited(daily_budget=50, monthly_budget=1000)
    reserve(token.pk, 50, TODAY)
    settle([Settlement(token_id=token.pk, reserved=50, cost=50, period=TODAY)])
    assert reserve(token.pk, 1, TODAY) == DAILY

    assert reserve(token.pk, 50, TOMORROW) is None

    token = fresh(token)
    assert (token.daily_used, token.daily_reserved, token.daily_period) == (0, 50, TOMORROW.day)
    assert (token.monthly_used, token.monthly_reserved) == (50, 50)  # same month


def test_the_monthly_budget_starts_again_on_the_first() -> None:
    token = limited(monthly_budget=50)
    reserve(token.pk, 50, TODAY)
    settle([Settlement(token_id=token.pk, reserved=50, cost=50, period=TODAY)])

    assert reserve(token.pk, 1, TOMORROW) == MONTHLY
    assert reserve(token.pk, 50, NEXT_MONTH) is None


def test_a_request_ending_after_midnight_leaves_the_new_day_alone() -> None:
    token = limited(quota_limit=1000, daily_budget=100)
    reserve(token.pk, 30, TODAY)  # began before midnight
    reserve(token.pk, 20, TOMORROW)  # a request of the new day

    settle([Settlement(token_id=token.pk, reserved=30, cost=30, period=TODAY)])

    token = fresh(token)
    assert (token.quota_used, token.quota_reserved) == (30, 20)  # the quota counts it
    assert (token.daily_used, token.daily_reserved, token.daily_period) == (0, 20, TOMORROW.day)


def test_settling_an_unlimited_tokens_spend_keeps_its_counters() -> None:
    token = make_token().token

    settle([Settlement(token_id=token.pk, reserved=0, cost=7, period=TODAY)] * 3)

    token = fresh(token)
    assert (token.quota_used, token.daily_used, token.monthly_used) == (21, 21, 21)
    assert token.daily_used_on(TODAY.day) == 21
    assert token.daily_used_on(TOMORROW.day) == 0
