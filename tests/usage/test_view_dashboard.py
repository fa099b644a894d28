"""/: the dashboard (the home page): traffic charts and tables, breakdowns by ?range=, channel
health and money, all read from the aggregates."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.factories import make_channel, make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tests.support.usage_entries import hours_ago, served, store
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def _svgs(body: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", body, flags=re.S)]


def _breakdowns(body: str) -> str:
    start = body.index('id="dashboard-breakdowns"')
    return body[start : body.index("</section>", start)]


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/?range=30d"), "/?range=30d")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/"))


def test_it_draws_the_24_hours_and_30_days_as_charts_and_tables(staff_client: Client) -> None:
    store(served(prompt_tokens=1_000, completion_tokens=234, cost=1_500_000_000))
    body = staff_client.get("/").content.decode()

    charts = _svgs(body)
    assert len(charts) == 6  # requests, tokens, cost; by hour and by day
    bars = [len(chart.findall(f"{SVG}rect")) for chart in charts]
    assert bars == [24, 24, 24, 30, 30, 30]
    titles = [rect.findtext(f"{SVG}title") or "" for rect in charts[2].findall(f"{SVG}rect")]
    assert titles[-1].endswith("Cost: USD 1.50")
    # The same numbers, readable without the charts.
    assert "Show as table" in body
    assert '<td class="num">USD 1.50</td>' in body
    assert '<strong data-total="tokens">1,234</strong>' in body


def test_breakdowns_follow_the_range(staff_client: Client) -> None:
    channel = make_channel(name="Alpha")
    token = make_token(name="Team A").token
    store(
        served(channel_id=channel.pk, token_id=token.pk, requested_model="fresh", cost=10),
        served(created_at=hours_ago(48), requested_model="older", cost=20),
    )
    day = _breakdowns(staff_client.get("/").content.decode())
    assert "fresh" in day and "older" not in day
    assert '<th scope="row">Alpha</th>' in day and '<th scope="row">Team A</th>' in day
    month = _breakdowns(staff_client.get("/?range=30d").content.decode())
    assert "fresh" in month and "older" in month
    assert 'aria-current="true" class="is-current">Last 30 days' in month


def test_a_range_switch_redraws_only_the_breakdowns(staff_client: Client) -> None:
    store(served(requested_model="m-1"))
    response = staff_client.get("/?range=30d", headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith(
        '<section class="card dash-breakdowns" id="dashboard-breakdowns">'
    )
    assert "m-1" in body and "<svg" not in body
    assert "HX-Request" in response["Vary"]


def test_top_spenders_show_what_each_token_has_left(staff_client: Client) -> None:
    token = make_token(name="Spender", quota_limit=5_000_000_000).token
    store(served(token_id=token.pk, cost=1_000_000_000))
    body = staff_client.get("/").content.decode()
    spenders = body[body.index("dash-spenders") :]
    assert "Spender" in spenders
    assert "USD 1.00 of USD 5.00 spent" in spenders


def test_channel_health_and_errors_behind_the_failures(staff_client: Client) -> None:
    channel = make_channel(name="Flaky")
    failing = {
        "channel_id": channel.pk,
        "status": 503,
        "error": "upstream overloaded",
        "latency_ms": 40,
    }
    store(
        served(channel_id=channel.pk, latency_ms=120),
        served(channel_id=channel.pk, status=503, attempts=[failing]),
    )
    body = staff_client.get("/").content.decode()
    health = body[body.index('id="dashboard-health"') :]
    row = health[health.index(f'data-channel="{channel.pk}"') :]
    assert '<td class="num" data-health="success-rate">50.0%</td>' in row
    assert "≤ 200 ms" in row  # p95 of 40 ms and 120 ms: bucket ending at 200
    assert "upstream overloaded" in health and "503" in health
    assert "current UTC hour and the one before it" in health


def test_money_tables(staff_client: Client) -> None:
    make_token(name="Capped", daily_budget=2_000_000_000)
    channel = make_channel(name="Paid")
    store(served(channel_id=channel.pk, cost=3_000_000_000))
    body = staff_client.get("/").content.decode()
    money = body[body.index('id="dashboard-money"') :]
    assert "Capped" in money and "USD 2.00" in money
    costs = money[money.index("dash-channel-costs") :]
    assert f"{timezone.localdate():%Y-%m-%d}" in costs
    assert "USD 3.00" in costs and "Paid" in costs


def test_its_numbers_come_from_the_aggregates_only(staff_client: Client) -> None:
    store(served(channel_id=make_channel().pk, token_id=make_token().token.pk, cost=5))
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get("/?range=30d").status_code == 200
    records = connection.ops.quote_name(UsageRecord._meta.db_table)
    # Only the unpriced-models note probes the records (a loose index scan, kept from the
    # overview); every dashboard number is read from the aggregate tables.
    reads = [q["sql"] for q in queries.captured_queries if records in q["sql"]]
    assert all("WITH RECURSIVE" in sql for sql in reads)


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    store(served(channel_id=make_channel().pk))
    body = staff_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "<h1>数据看板</h1>" in body
    for words in ("请求", "花费", "成功率", "以表格显示", "渠道健康"):
        assert words in body
    assert all(
        ET.fromstring(svg) is not None for svg in re.findall(r"<svg .*?</svg>", body, flags=re.S)
    )
