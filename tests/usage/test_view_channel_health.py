"""/usage/channels/<id>/: one channel's health over time (the panel its edit page loads)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from tests.support.factories import make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tests.support.usage_entries import hours_ago, served, store

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def test_it_sends_anonymous_visitors_to_login() -> None:
    channel = make_channel()
    url = f"/usage/channels/{channel.pk}/"
    assert_login_redirect(Client().get(url), url)


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(f"/usage/channels/{make_channel().pk}/"))


def test_an_unknown_channel_is_404(staff_client: Client) -> None:
    assert staff_client.get("/usage/channels/999999/").status_code == 404


def test_it_shows_hourly_attempts_as_a_chart_and_the_top_errors(staff_client: Client) -> None:
    channel = make_channel(name="Flaky")
    failing = {"channel_id": channel.pk, "status": 502, "error": "bad gateway", "latency_ms": 9}
    store(
        served(channel_id=channel.pk, latency_ms=400, first_byte_ms=120),
        served(channel_id=channel.pk, status=502, attempts=[failing]),
        served(channel_id=channel.pk, created_at=hours_ago(5)),
    )
    body = staff_client.get(f"/usage/channels/{channel.pk}/", headers=HTMX).content.decode()

    assert body.lstrip().startswith(
        '<section class="card dash-channel-health" id="channel-health">'
    )
    (svg,) = re.findall(r"<svg .*?</svg>", body, flags=re.S)
    rects = ET.fromstring(svg).findall(f"{SVG}rect")
    assert len(rects) == 24
    assert "2 attempts, 50.0% succeeded" in (rects[-1].findtext(f"{SVG}title") or "")
    hour = body[body.index('data-window="hour"') :]
    assert '<td class="num" data-health="success-rate">50.0%</td>' in hour
    day = body[body.index('data-window="day"') :]
    assert '<td class="num" data-health="success-rate">66.7%</td>' in day
    assert "≤ 500 ms" in hour and "≤ 200 ms" in hour  # p95 latency, p50 first byte
    assert "bad gateway" in body and "502" in body


def test_a_quiet_channel_says_so(staff_client: Client) -> None:
    body = staff_client.get(f"/usage/channels/{make_channel().pk}/").content.decode()
    assert "No failed attempts in the last day." in body
    assert "<html" in body  # without htmx: the whole page


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    channel = make_channel()
    body = staff_client.get(
        f"/usage/channels/{channel.pk}/", headers={"Accept-Language": "zh-hans"}
    ).content.decode()
    assert "健康状况" in body and "成功率" in body and "首字时间" in body
