"""Quotas and budgets that never overdraw: reserve before forwarding, settle after.

`reserve` is one conditional UPDATE of the token's row: it adds the request's possible cost
to what is reserved only where used + reserved + this amount fits the quota and each budget,
so concurrent requests (in any process, on any instance) cannot together pass a limit: the
database serialises the updates of one row and re-checks the condition for each.
`settle` (run by the usage writer in the transaction that writes the records) moves each
request's reservation to its real cost, and a failed request's to nothing.

A budget counts in a period (a day, a month in TOLLGATE_TIME_ZONE): its `*_period` column names
the period its counters are for; the first reservation or settlement of a newer period
restarts them, so nothing has to run at midnight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from tokens.models import Token

QUOTA = "quota"
DAILY = "daily"
MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class Period:
    day: dt.date
    month: dt.date  # the month's first day

    @classmethod
    def at(cls, moment: dt.datetime | None = None) -> Period:
        day = timezone.localdate(moment or timezone.now())
        return cls(day=day, month=day.replace(day=1))


# The two UPDATEs below are written out, not built by the ORM: building one with its Case
# and When expressions cost the ORM about 13,000 Python calls (5-6 ms of CPU on `make
# bench`'s machine), on every request of a token with a quota or budget (reserve) and on
# every usage batch (settle). The statements are the ones the ORM built: one UPDATE each, its
# SET expressions all reading the row as it was, so the database still serialises the
# updates of one row and re-checks the condition for each.


def _column(name: str) -> str:
    return connection.ops.quote_name(name)


def _day(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _in_period(budget: str, period: dt.date) -> tuple[str, list[Any]]:
    """What the budget's counters hold for `period` (used + reserved), zero for an older one."""
    used, reserved, when = (_column(f"{budget}_{part}") for part in ("used", "reserved", "period"))
    return f"(CASE WHEN {when} = %s THEN {used} + {reserved} ELSE 0 END)", [_day(period)]


def _fits(limit: str, held: tuple[str, list[Any]], amount: int) -> tuple[str, list[Any]]:
    column = _column(limit)
    return f"({column} IS NULL OR {column} >= {held[0]} + %s)", [*held[1], amount]


def _restart_or_add(
    budget: str, period: dt.date, *, used: int, reserved: int
) -> tuple[list[str], list[Any]]:
    """SET clauses adding to the counters of `period`, restarting those of an older one.

    Counters of a newer period than `period` (a request that began before midnight and ended
    after) are left alone: what it cost is counted in the quota, not in a budget gone by.
    """
    used_c, reserved_c, when = (
        _column(f"{budget}_{part}") for part in ("used", "reserved", "period")
    )
    day = _day(period)
    older = f"({when} IS NULL OR {when} < %s)"
    clauses = [
        f"{used_c} = CASE WHEN {when} = %s THEN {used_c} + %s WHEN {older} THEN %s "
        f"ELSE {used_c} END",
        f"{reserved_c} = CASE WHEN {when} = %s THEN {reserved_c} + %s WHEN {older} THEN %s "
        f"ELSE {reserved_c} END",
        f"{when} = CASE WHEN {older} THEN %s ELSE {when} END",
    ]
    params = [day, used, day, used, day, reserved, day, max(reserved, 0), day, day]
    return clauses, params


def _update(sets: list[str], params: list[Any], where: str) -> int:
    table = _column(Token._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE {where}", params)
        return int(cursor.rowcount)


def reserve(token_id: int, amount: int, period: Period) -> str | None:
    """Hold `amount` against the token's quota and budgets.

    None when it fits all of them (and is now held); else which ran out first: QUOTA, DAILY or
    MONTHLY ("" for a token that no longer exists).
    """
    quota = _fits(
        "quota_limit", (f"{_column('quota_used')} + {_column('quota_reserved')}", []), amount
    )
    daily = _fits("daily_budget", _in_period("daily", period.day), amount)
    monthly = _fits("monthly_budget", _in_period("monthly", period.month), amount)
    daily_sets, daily_params = _restart_or_add("daily", period.day, used=0, reserved=amount)
    monthly_sets, monthly_params = _restart_or_add("monthly", period.month, used=0, reserved=amount)
    reserved = _column("quota_reserved")
    held = _update(
        [f"{reserved} = {reserved} + %s", *daily_sets, *monthly_sets],
        [amount, *daily_params, *monthly_params, token_id, *quota[1], *daily[1], *monthly[1]],
        f"{_column('id')} = %s AND {quota[0]} AND {daily[0]} AND {monthly[0]}",
    )
    if held:
        return None
    return _what_ran_out(token_id, amount, period)


def _what_ran_out(token_id: int, amount: int, period: Period) -> str:
    token = Token.objects.filter(pk=token_id).first()
    if token is None:
        return ""
    if (
        token.quota_limit is not None
        and token.quota_used + token.quota_reserved + amount > token.quota_limit
    ):
        return QUOTA
    daily_held = token.daily_used_on(period.day) + (
        token.daily_reserved if token.daily_period == period.day else 0
    )
    if token.daily_budget is not None and daily_held + amount > token.daily_budget:
        return DAILY
    return MONTHLY


@dataclass(frozen=True, slots=True)
class Settlement:
    """One request's end: its reservation (0 if none) becomes its cost (0 if not billed)."""

    token_id: int
    reserved: int
    cost: int
    period: Period


def settle(settlements: Iterable[Settlement]) -> None:
    """Apply the settlements, one UPDATE per token and period (call inside a transaction)."""
    totals: dict[tuple[int, Period], list[int]] = {}
    for item in settlements:
        if not item.reserved and not item.cost:
            continue
        total = totals.setdefault((item.token_id, item.period), [0, 0])
        total[0] += item.reserved
        total[1] += item.cost
    for (token_id, period), (reserved, cost) in sorted(
        totals.items(), key=lambda pair: (pair[0][0], pair[0][1].day)
    ):
        # In token order: two writers settling the same tokens never wait on each other in
        # a cycle (a deadlock on PostgreSQL).
        daily_sets, daily_params = _restart_or_add(
            "daily", period.day, used=cost, reserved=-reserved
        )
        monthly_sets, monthly_params = _restart_or_add(
            "monthly", period.month, used=cost, reserved=-reserved
        )
        used_c, reserved_c = _column("quota_used"), _column("quota_reserved")
        _update(
            [
                f"{used_c} = {used_c} + %s",
                f"{reserved_c} = {reserved_c} - %s",
                *daily_sets,
                *monthly_sets,
            ],
            [cost, reserved, *daily_params, *monthly_params, token_id],
            f"{_column('id')} = %s",
        )


def release(token_id: int, amount: int, period: Period) -> None:
    """Give a reservation back at once (the request never reached the usage writer)."""
    settle([Settlement(token_id=token_id, reserved=amount, cost=0, period=period)])
