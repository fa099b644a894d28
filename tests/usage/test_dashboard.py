"""usage.dashboard: the dashboard's numbers, read from the aggregates, equal what was stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from tests.support.factories import make_channel, make_token
from tests.support.usage_entries import hours_ago, served, store
from usage import dashboard
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


def test_the_hourly_series_has_24_hours_and_sums_what_was_stored() -> None:
    store(
        served(prompt_tokens=10, completion_tokens=5, cost=1_000),
        served(prompt_tokens=1, completion_tokens=2, cost=500, status=502),
        served(created_at=hours_ago(3), prompt_tokens=7, cost=70),
        served(created_at=hours_ago(25), cost=9_999),  # outside the window
    )
    points = dashboard.series("24h")

    assert len(points) == 24
    assert points[-1].totals == dashboard.Totals(
        requests=2, successes=1, prompt_tokens=11, completion_tokens=7, cost=1_500
    )
    assert points[-4].totals.requests == 1 and points[-4].totals.cost == 70
    assert sum(point.totals.requests for point in points) == 3
    total = dashboard.totals(points)
    assert (total.requests, total.tokens, total.cost) == (3, 25, 1_570)


def test_the_daily_series_has_30_days_and_agrees_with_the_records() -> None:
    now = timezone.now()
    entries = [
        served(created_at=now - dt.timedelta(days=days), cost=days * 10, prompt_tokens=days)
        for days in (0, 0, 1, 5, 29, 31)
    ]
    store(*entries)
    points = dashboard.series("30d")

    assert len(points) == 30
    assert points[-1].start == timezone.localdate()
    first = timezone.localdate() - dt.timedelta(days=29)
    records = UsageRecord.objects.filter(created_at__date__gte=first).aggregate(
        requests=Count("id"), cost=Sum("cost"), prompt=Sum("prompt_tokens")
    )
    total = dashboard.totals(points)
    assert (total.requests, total.cost, total.prompt_tokens) == (
        records["requests"],
        records["cost"],
        records["prompt"],
    )


def test_a_token_series_counts_only_that_token() -> None:
    team, other = make_token(name="team").token, make_token(name="other").token
    store(served(token_id=team.pk, cost=3), served(token_id=other.pk, cost=40))
    points = dashboard.series("30d", token_id=team.pk)
    assert dashboard.totals(points).cost == 3


def test_breakdowns_group_by_model_channel_token_and_group_with_names() -> None:
    alpha = make_channel(name="Alpha")
    beta = make_channel(name="Beta")
    team = make_token(name="Team A").token
    store(
        served(channel_id=alpha.pk, token_id=team.pk, requested_model="m1", cost=100),
        served(channel_id=alpha.pk, token_id=team.pk, requested_model="m2", cost=50),
        served(channel_id=beta.pk, requested_model="m1", cost=300, group="vip"),
        served(created_at=hours_ago(30), channel_id=beta.pk, requested_model="old", cost=7),
    )

    by_model = dashboard.breakdown("24h", "model")
    assert [(share.key, share.totals.cost) for share in by_model] == [("m1", 400), ("m2", 50)]
    by_channel = dashboard.breakdown("24h", "channel_id")
    assert [(share.name, share.totals.requests) for share in by_channel] == [
        ("Beta", 1),
        ("Alpha", 2),
    ]
    by_token = dashboard.breakdown("24h", "token_id")
    assert [(share.key, share.name) for share in by_token] == [(0, ""), (team.pk, "Team A")]
    by_group = dashboard.breakdown("30d", "group")
    assert [(share.key, share.totals.cost) for share in by_group] == [
        ("vip", 300),
        ("default", 157),
    ]


def test_top_spenders_are_tokens_by_cost_with_what_they_have_left() -> None:
    big = make_token(name="big", quota_limit=10_000).token
    small = make_token(name="small").token
    store(
        served(token_id=big.pk, cost=2_000),
        served(token_id=small.pk, cost=10),
        served(cost=99_999),  # no token: not a spender
    )
    big.refresh_from_db()
    spenders = dashboard.top_spenders("24h")

    assert [spender.share.name for spender in spenders] == ["big", "small"]
    money = spenders[0].money
    assert money is not None
    assert money.quota.left == 10_000 - big.quota_used
    assert money.today.limit is None and money.today.left is None


def test_what_a_token_has_left_counts_used_and_reserved_in_the_current_period() -> None:
    token = make_token(quota_limit=1_000, daily_budget=300, monthly_budget=2_000).token
    today = timezone.localdate()
    token.quota_used, token.quota_reserved = 400, 100
    token.daily_used, token.daily_reserved, token.daily_period = 250, 20, today
    token.monthly_used, token.monthly_period = 900, today.replace(day=1) - dt.timedelta(days=1)

    money = dashboard.token_money(token, today)
    assert money.quota.left == 500
    assert money.today.left == 30
    assert money.month.left == 2_000  # last month's spending does not count
    token.daily_used = 1_000
    assert dashboard.token_money(token, today).today.left == 0


def test_limited_tokens_lists_only_tokens_with_a_limit() -> None:
    make_token(name="free")
    make_token(name="capped", daily_budget=5)
    assert [money.token.name for money in dashboard.limited_tokens()] == ["capped"]


def test_cost_per_channel_per_day_over_30_days() -> None:
    alpha = make_channel(name="Alpha")
    beta = make_channel(name="Beta")
    now = timezone.now()
    store(
        served(channel_id=alpha.pk, cost=100),
        served(channel_id=beta.pk, cost=5),
        served(channel_id=alpha.pk, cost=30, created_at=now - dt.timedelta(days=2)),
        served(cost=0, status=503),  # no channel answered
    )
    costs = dashboard.channel_costs()

    assert costs.columns == [(alpha.pk, "Alpha"), (beta.pk, "Beta")]
    assert len(costs.days) == 30
    assert costs.days[0] == (timezone.localdate(), [100, 5], 105)
    assert costs.days[2][1:] == ([30, 0], 30)


def test_read_range_falls_back_to_24_hours() -> None:
    assert dashboard.read_range("30d") == "30d"
    assert dashboard.read_range("bogus") == "24h"
    assert dashboard.read_range(None) == "24h"
