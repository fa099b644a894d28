"""What the dashboard shows, read from the aggregate tables only (UsageHourly, UsageDaily):
never from UsageRecord, so it costs the same at a thousand records or a hundred million.

Each read is one query grouped in SQL over a time range; the tables' unique keys start with
`hour` / `day`, so that range is an index range scan. The 24-hour window is the current UTC
hour and the 23 before it (UsageHourly); the 30-day window is today and the 29 days before in
TOLLGATE_TIME_ZONE (UsageDaily).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from channels_admin.health import hour_start
from channels_admin.models import Channel
from tokens.models import Token
from usage.models import UsageDaily, UsageHourly

Range = Literal["24h", "30d"]
RANGES: tuple[Range, ...] = ("24h", "30d")
DEFAULT_RANGE: Range = "24h"
HOURS = 24
DAYS = 30
BREAKDOWN_ROWS = 20
TOP_SPENDERS = 10
COST_CHANNELS = 6  # channels with a column of their own in cost per channel per day
SUMS = {
    "requests": Sum("requests"),
    "successes": Sum("successes"),
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "cost": Sum("cost"),
}


def read_range(value: str | None) -> Range:
    return "30d" if value == "30d" else DEFAULT_RANGE


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int = 0
    successes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def success_rate(self) -> float | None:
        return 100.0 * self.successes / self.requests if self.requests else None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Totals:
        return cls(**{name: row.get(name) or 0 for name in SUMS})


@dataclass(frozen=True, slots=True)
class Point:
    """One hour or day of a series: `start` is a UTC datetime (hours) or a local date (days)."""

    start: dt.datetime | dt.date
    totals: Totals


def first_hour(now: dt.datetime | None = None) -> dt.datetime:
    return hour_start(now or timezone.now()) - dt.timedelta(hours=HOURS - 1)


def first_day(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now()) - dt.timedelta(days=DAYS - 1)


def _rows(window: Range, now: dt.datetime | None) -> QuerySet[Any]:
    if window == "24h":
        return UsageHourly.objects.filter(hour__gte=first_hour(now)).order_by()
    return UsageDaily.objects.filter(day__gte=first_day(now)).order_by()


def series(
    window: Range, *, token_id: int | None = None, now: dt.datetime | None = None
) -> list[Point]:
    """Requests, tokens and cost per hour (24h) or day (30d), oldest first, gaps as zeros."""
    rows = _rows(window, now)
    if token_id is not None:
        rows = rows.filter(token_id=token_id)
    column = "hour" if window == "24h" else "day"
    found: dict[Any, Totals] = {}
    for row in rows.values(column).annotate(**SUMS):
        start = row[column]
        found[hour_start(start) if window == "24h" else start] = Totals.of(row)
    starts: list[dt.datetime | dt.date]
    if window == "24h":
        hour = first_hour(now)
        starts = [hour + dt.timedelta(hours=step) for step in range(HOURS)]
    else:
        day = first_day(now)
        starts = [day + dt.timedelta(days=step) for step in range(DAYS)]
    return [Point(start, found.get(start, Totals())) for start in starts]


def totals(points: list[Point]) -> Totals:
    return Totals(**{name: sum(getattr(point.totals, name) for point in points) for name in SUMS})


Dimension = Literal["model", "channel_id", "token_id", "group"]
DIMENSIONS: tuple[Dimension, ...] = ("model", "channel_id", "token_id", "group")


@dataclass(frozen=True, slots=True)
class Share:
    """One model, channel, token or group's totals in the window."""

    key: Any  # the model or group name, the channel or token id (0: none)
    name: str  # what the page shows
    totals: Totals


def breakdown(
    window: Range,
    dimension: Dimension,
    *,
    limit: int = BREAKDOWN_ROWS,
    now: dt.datetime | None = None,
) -> list[Share]:
    """The window's totals by one dimension, the costliest (then busiest) first."""
    rows = list(
        _rows(window, now)
        .values(dimension)
        .annotate(**SUMS)
        .order_by("-cost", "-requests", dimension)[:limit]
    )
    names = _names(dimension, [row[dimension] for row in rows])
    return [Share(row[dimension], names.get(row[dimension], ""), Totals.of(row)) for row in rows]


def _names(dimension: Dimension, keys: list[Any]) -> dict[Any, str]:
    """Channel and token names for ids (deleted ones show their id); names as they are."""
    if dimension == "channel_id":
        return _channel_names(keys)
    if dimension == "token_id":
        return dict(Token.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {key: key for key in keys}


def _channel_names(ids: list[int]) -> dict[int, str]:
    return dict(Channel.objects.filter(pk__in=ids).values_list("pk", "name"))


@dataclass(frozen=True, slots=True)
class Left:
    """A limit, what is spent of it and what is left (None: no such limit)."""

    limit: int | None
    spent: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.spent, 0)

    @property
    def percent_left(self) -> float | None:
        if self.limit is None:
            return None
        return 100.0 * (self.left or 0) / self.limit if self.limit else 0.0


@dataclass(frozen=True, slots=True)
class TokenMoney:
    token: Token
    quota: Left
    today: Left
    month: Left


def token_money(token: Token, today: dt.date | None = None) -> TokenMoney:
    """What the token has left of its quota and budgets; spent includes what requests in
    flight hold (as the relay's reservation counts it)."""
    day = today or timezone.localdate()
    month = day.replace(day=1)
    daily_reserved = token.daily_reserved if token.daily_period == day else 0
    monthly_reserved = token.monthly_reserved if token.monthly_period == month else 0
    return TokenMoney(
        token,
        quota=Left(token.quota_limit, token.quota_used + token.quota_reserved),
        today=Left(token.daily_budget, token.daily_used_on(day) + daily_reserved),
        month=Left(token.monthly_budget, token.monthly_used_in(month) + monthly_reserved),
    )


@dataclass(frozen=True, slots=True)
class Spender:
    share: Share
    money: TokenMoney | None  # None for a deleted token or requests without one


def top_spenders(
    window: Range, *, limit: int = TOP_SPENDERS, now: dt.datetime | None = None
) -> list[Spender]:
    """Tokens by cost in the window, with what each has left."""
    shares = [
        share
        for share in breakdown(window, "token_id", limit=limit + 1, now=now)
        if share.key and share.totals.cost > 0
    ][:limit]
    tokens = Token.objects.in_bulk([share.key for share in shares])
    return [
        Spender(share, token_money(tokens[share.key]) if share.key in tokens else None)
        for share in shares
    ]


MONEY_FIELDS = (
    "name", "quota_limit", "quota_used", "quota_reserved", "daily_budget", "daily_used",
    "daily_reserved", "daily_period", "monthly_budget", "monthly_used", "monthly_reserved",
    "monthly_period",
)  # fmt: skip


def limited_tokens(limit: int = 100) -> list[TokenMoney]:
    """Every token with a quota or a budget (the ones that can run out), by name."""
    tokens = (
        Token.objects.exclude(
            quota_limit__isnull=True, daily_budget__isnull=True, monthly_budget__isnull=True
        )
        .only(*MONEY_FIELDS)
        .order_by("name", "pk")[:limit]
    )
    today = timezone.localdate()
    return [token_money(token, today) for token in tokens]


@dataclass(frozen=True, slots=True)
class ChannelCosts:
    """Cost per channel per day: `columns` are the costliest channels (then "others")."""

    columns: list[tuple[int, str]]  # (channel id, name); id -1 is "all other channels"
    days: list[tuple[dt.date, list[int], int]]  # (day, cost per column, day's total), newest first


OTHERS = -1


def channel_costs(now: dt.datetime | None = None) -> ChannelCosts:
    """The last 30 days' cost per channel and day, one grouped query over UsageDaily."""
    start = first_day(now)
    rows = (
        UsageDaily.objects.filter(day__gte=start)
        .exclude(channel_id=0)
        .order_by()
        .values_list("day", "channel_id")
        .annotate(cost=Sum("cost"))
    )
    by_day: dict[dt.date, dict[int, int]] = defaultdict(dict)
    per_channel: dict[int, int] = defaultdict(int)
    for day, channel_id, cost in rows:
        by_day[day][channel_id] = cost or 0
        per_channel[channel_id] += cost or 0
    ranked = sorted(
        (cid for cid, cost in per_channel.items() if cost > 0),
        key=lambda cid: (-per_channel[cid], cid),
    )
    shown = ranked[:COST_CHANNELS]
    names = _channel_names(shown)
    columns = [(cid, names.get(cid, f"#{cid}")) for cid in shown]
    if len(ranked) > COST_CHANNELS:
        columns.append((OTHERS, ""))
    days = []
    for step in range(DAYS):
        day = start + dt.timedelta(days=DAYS - 1 - step)
        costs = by_day.get(day, {})
        cells = [costs.get(cid, 0) for cid in shown]
        if len(ranked) > COST_CHANNELS:
            cells.append(sum(cost for cid, cost in costs.items() if cid not in shown))
        days.append((day, cells, sum(costs.values())))
    return ChannelCosts(columns, days)
