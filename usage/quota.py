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

from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.db.models.expressions import Combinable
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


def _in_period(budget: str, period: dt.date) -> Combinable:
    """What the budget's counters hold for `period` (used + reserved), zero for an older one."""
    return Case(
        When(**{f"{budget}_period": period}, then=F(f"{budget}_used") + F(f"{budget}_reserved")),
        default=Value(0),
        output_field=BigIntegerField(),
    )


def _fits(limit: str, held: Combinable, amount: int) -> Q:
    return Q(**{f"{limit}__isnull": True}) | Q(**{f"{limit}__gte": held + Value(amount)})


def reserve(token_id: int, amount: int, period: Period) -> str | None:
    """Hold `amount` against the token's quota and budgets.

    None when it fits all of them (and is now held); else which ran out first: QUOTA, DAILY or
    MONTHLY ("" for a token that no longer exists).
    """
    fits = (
        _fits("quota_limit", F("quota_used") + F("quota_reserved"), amount)
        & _fits("daily_budget", _in_period("daily", period.day), amount)
        & _fits("monthly_budget", _in_period("monthly", period.month), amount)
    )
    held = Token.objects.filter(fits, pk=token_id).update(
        quota_reserved=F("quota_reserved") + amount,
        **_restart_or_add("daily", period.day, used=0, reserved=amount),
        **_restart_or_add("monthly", period.month, used=0, reserved=amount),
    )
    if held:
        return None
    return _what_ran_out(token_id, amount, period)


def _restart_or_add(budget: str, period: dt.date, *, used: int, reserved: int) -> dict[str, Case]:
    """Column updates adding to the counters of `period`, restarting those of an older one.

    Counters of a newer period than `period` (a request that began before midnight and ended
    after) are left alone: what it cost is counted in the quota, not in a budget gone by.
    """
    current = Q(**{f"{budget}_period": period})
    older = Q(**{f"{budget}_period__isnull": True}) | Q(**{f"{budget}_period__lt": period})
    used_field, reserved_field, period_field = (
        f"{budget}_used",
        f"{budget}_reserved",
        f"{budget}_period",
    )
    return {
        used_field: Case(
            When(current, then=F(used_field) + used),
            When(older, then=Value(used)),
            default=F(used_field),
            output_field=BigIntegerField(),
        ),
        reserved_field: Case(
            When(current, then=F(reserved_field) + reserved),
            When(older, then=Value(max(reserved, 0))),
            default=F(reserved_field),
            output_field=BigIntegerField(),
        ),
        period_field: Case(When(older, then=Value(period)), default=F(period_field)),
    }


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
        Token.objects.filter(pk=token_id).update(
            quota_used=F("quota_used") + cost,
            quota_reserved=F("quota_reserved") - reserved,
            **_restart_or_add("daily", period.day, used=cost, reserved=-reserved),
            **_restart_or_add("monthly", period.month, used=cost, reserved=-reserved),
        )


def release(token_id: int, amount: int, period: Period) -> None:
    """Give a reservation back at once (the request never reached the usage writer)."""
    settle([Settlement(token_id=token_id, reserved=amount, cost=0, period=period)])
