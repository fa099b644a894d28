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
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
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
#
# Their text depends only on the database's quoting, so it is written once per backend
# (quoting its 21 names on every request cost half of a reservation's CPU), and its
# parameters are named (`%(amount)s`): with positional ones, Django's SQLite backend turns
# each `%s` into `?` with a regular expression, about 200,000 instructions per reservation
# (callgrind), where named ones cost one `%` formatting. PostgreSQL takes them as they are.


def _column(name: str) -> str:
    return connection.ops.quote_name(name)


def _day(value: dt.date, db: BaseDatabaseWrapper) -> Any:
    return db.ops.adapt_datefield_value(value)


def _in_period(budget: str, period: str) -> str:
    """What the budget's counters hold for `period` (used + reserved), zero for an older one."""
    used, reserved, when = (_column(f"{budget}_{part}") for part in ("used", "reserved", "period"))
    return f"(CASE WHEN {when} = {period} THEN {used} + {reserved} ELSE 0 END)"


def _fits(limit: str, held: str) -> str:
    column = _column(limit)
    return f"({column} IS NULL OR {column} >= {held} + %(amount)s)"


def _restart_or_add(
    budget: str, period: str, *, used: str, reserved: str, restart: str
) -> list[str]:
    """SET clauses adding `used` and `reserved` to the counters of `period`, or restarting
    those of an older one at `used` and `restart` (SQL expressions, parameters in them).

    Counters of a newer period than `period` (a request that began before midnight and ended
    after) are left alone: what it cost is counted in the quota, not in a budget gone by.
    """
    used_c, reserved_c, when = (
        _column(f"{budget}_{part}") for part in ("used", "reserved", "period")
    )
    older = f"({when} IS NULL OR {when} < {period})"
    return [
        f"{used_c} = CASE WHEN {when} = {period} THEN {used_c} + {used} WHEN {older} THEN {used} "
        f"ELSE {used_c} END",
        f"{reserved_c} = CASE WHEN {when} = {period} THEN {reserved_c} + {reserved} "
        f"WHEN {older} THEN {restart} ELSE {reserved_c} END",
        f"{when} = CASE WHEN {older} THEN {period} ELSE {when} END",
    ]


def _update_sql(sets: list[str], where: str) -> str:
    return f"UPDATE {_column(Token._meta.db_table)} SET {', '.join(sets)} WHERE {where}"


@functools.cache
def _reserve_sql(vendor: str) -> str:
    """The reservation's UPDATE in the quoting of the `vendor` backend (the cache's key).

    Parameters: id, amount, day, month."""
    reserved = _column("quota_reserved")
    held = f"{_column('quota_used')} + {reserved}"
    added = {"used": "0", "reserved": "%(amount)s", "restart": "%(amount)s"}
    return _update_sql(
        [
            f"{reserved} = {reserved} + %(amount)s",
            *_restart_or_add("daily", "%(day)s", **added),
            *_restart_or_add("monthly", "%(month)s", **added),
        ],
        f"{_column('id')} = %(id)s AND {_fits('quota_limit', held)} AND "
        f"{_fits('daily_budget', _in_period('daily', '%(day)s'))} AND "
        f"{_fits('monthly_budget', _in_period('monthly', '%(month)s'))}",
    )


@functools.cache
def _settle_sql(vendor: str) -> str:
    """The settlement's UPDATE in the quoting of the `vendor` backend (the cache's key).

    Parameters: id, cost, reserved (the reservation to end), restart (what an older
    period's reserved counter restarts at), day, month."""
    used, reserved = _column("quota_used"), _column("quota_reserved")
    moved = {"used": "%(cost)s", "reserved": "-%(reserved)s", "restart": "%(restart)s"}
    return _update_sql(
        [
            f"{used} = {used} + %(cost)s",
            f"{reserved} = {reserved} - %(reserved)s",
            *_restart_or_add("daily", "%(day)s", **moved),
            *_restart_or_add("monthly", "%(month)s", **moved),
        ],
        f"{_column('id')} = %(id)s",
    )


def _update(db: BaseDatabaseWrapper, sql: str, params: dict[str, Any]) -> int:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def reserve(token_id: int, amount: int, period: Period) -> str | None:
    """Hold `amount` against the token's quota and budgets.

    None when it fits all of them (and is now held); else which ran out first: QUOTA, DAILY or
    MONTHLY ("" for a token that no longer exists).
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each read through `connection` is a lookup
    day, month = _day(period.day, db), _day(period.month, db)
    held = _update(
        db, _reserve_sql(db.vendor), {"id": token_id, "amount": amount, "day": day, "month": month}
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
    db = connections[DEFAULT_DB_ALIAS]
    for (token_id, period), (reserved, cost) in sorted(
        totals.items(), key=lambda pair: (pair[0][0], pair[0][1].day)
    ):
        # In token order: two writers settling the same tokens never wait on each other in
        # a cycle (a deadlock on PostgreSQL).
        _update(
            db,
            _settle_sql(db.vendor),
            {
                "id": token_id,
                "cost": cost,
                "reserved": reserved,
                "restart": max(-reserved, 0),
                "day": _day(period.day, db),
                "month": _day(period.month, db),
            },
        )


def release(token_id: int, amount: int, period: Period) -> None:
    """Give a reservation back at once (the request never reached the usage writer)."""
    settle([Settlement(token_id=token_id, reserved=amount, cost=0, period=period)])
