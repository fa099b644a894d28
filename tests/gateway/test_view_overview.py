"""/: the overview, counting channels and tokens, and the channels that failed their last test."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from channels_admin.models import Channel
from channels_admin.services import channel_update
from tests.support.factories import CHANNEL_KEY, make_admin_key, make_channel, make_token
from tests.support.pages import assert_forbidden, assert_login_redirect
from usage.models import ModelPrice, UsageRecord
from usage.price_selectors import UNPRICED_SHOWN

pytestmark = pytest.mark.django_db


def _count(body: str, attribute: str, value: str) -> int:
    match = re.search(rf'data-{attribute}="{value}">(\d+)<', body)
    assert match, f"no {attribute}={value} count on the page"
    return int(match.group(1))


def _tested(channel: Channel, *, ok: bool) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        last_test_at=timezone.now(), last_test_ok=ok, last_test_error="" if ok else "HTTP 401"
    )


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/"), "/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/"))


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post("/").status_code == 405


def test_it_counts_channels_by_status(staff_client: Client) -> None:
    make_channel(name="a")
    make_channel(name="b")
    make_channel(name="c", status="disabled")
    auto = make_channel(name="d")
    channel_update(channel=auto, changes={"status": "auto_disabled"})

    body = staff_client.get("/").content.decode()
    assert _count(body, "status", "enabled") == 2
    assert _count(body, "status", "disabled") == 1
    assert _count(body, "status", "auto_disabled") == 1
    assert "Auto-disabled" in body
    assert CHANNEL_KEY not in body


def test_it_counts_tokens(staff_client: Client) -> None:
    make_token(name="live")
    make_token(name="live too", expires_at=timezone.now() + timedelta(days=1))
    make_token(name="off", status="disabled")
    make_token(name="old", expires_at=timezone.now() - timedelta(days=1))
    make_admin_key(name="ci")

    body = staff_client.get("/").content.decode()
    assert _count(body, "tokens", "active") == 2
    assert _count(body, "tokens", "disabled") == 1
    assert _count(body, "tokens", "expired") == 1
    assert '<span class="stat-number">4</span>' in body
    assert '<span class="stat-number">1</span>' in body


def test_it_shows_the_base_url_from_the_request(staff_client: Client) -> None:
    body = staff_client.get("/", HTTP_HOST="gw.example.org").content.decode()
    assert 'value="http://gw.example.org/v1"' in body


@pytest.mark.parametrize(
    "configured", ["https://ai.example.com", "https://ai.example.com/", "https://ai.example.com/v1"]
)
def test_it_prefers_the_configured_public_url(
    staff_client: Client, settings: Any, configured: str
) -> None:
    settings.PUBLIC_BASE_URL = configured
    body = staff_client.get("/", HTTP_HOST="internal:8000").content.decode()
    assert 'value="https://ai.example.com/v1"' in body
    assert "internal:8000" not in body


def test_it_links_to_the_other_pages(staff_client: Client) -> None:
    body = staff_client.get("/").content.decode()
    for href in ('href="/channels/"', 'href="/tokens/add/"', 'href="/admin-keys/"'):
        assert href in body


# --- channels that failed their last test ---------------------------------------------


def test_the_overview_says_how_many_failed(staff_client: Client) -> None:
    _tested(make_channel(name="a"), ok=False)
    _tested(make_channel(name="b"), ok=False)
    _tested(make_channel(name="c"), ok=True)

    body = staff_client.get("/").content.decode()

    assert '<a href="/channels/?tested=failed">2 channels failed their last test.</a>' in body
    # The link shows exactly those channels.
    listing = staff_client.get("/channels/?tested=failed").content.decode()
    assert listing.count('class="ch-row ') == 2


def test_one_failure_reads_in_the_singular_and_none_says_nothing(staff_client: Client) -> None:
    channel = make_channel()
    assert "failed its last test" not in staff_client.get("/").content.decode()
    assert "failed their last test" not in staff_client.get("/").content.decode()

    _tested(channel, ok=False)
    assert "1 channel failed its last test." in staff_client.get("/").content.decode()


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    _tested(make_channel(), ok=False)
    body = staff_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "1 个渠道最近一次测试失败。" in body


# --- models in use without a price ----------------------------------------------------


def _asked_for(model: str, *, days_ago: float = 0) -> None:
    UsageRecord.objects.create(
        request_id="req",
        endpoint="/v1/chat/completions",
        requested_model=model,
        status=200,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def test_it_lists_models_in_use_without_a_price_linking_to_the_prices_page(
    staff_client: Client,
) -> None:
    make_channel(models=["gpt-4o", "org/model-x"])
    make_channel(name="off", models=["switched-off"], status="disabled")
    ModelPrice.objects.create(model="gpt-4o", input_per_million=1)
    _asked_for("asked/recently", days_ago=3)
    _asked_for("asked-long-ago", days_ago=40)

    body = staff_client.get("/").content.decode()

    assert "Models without a price" in body
    assert '<a class="mono" href="/prices/?model=org%2Fmodel-x#price-form">org/model-x</a>' in body
    assert '<a class="mono" href="/prices/?model=asked%2Frecently#price-form">' in body
    for absent in ("?model=gpt-4o", "switched-off", "asked-long-ago"):
        assert absent not in body


def test_the_link_fills_in_the_prices_form(staff_client: Client) -> None:
    make_channel(models=["org/model-x"])
    page = staff_client.get("/prices/?model=org/model-x").content.decode()
    assert 'name="model" value="org/model-x"' in page


def test_it_says_nothing_when_every_model_in_use_has_a_price(staff_client: Client) -> None:
    make_channel(models=["gpt-4o"])
    ModelPrice.objects.create(model="gpt-4o")
    assert "Models without a price" not in staff_client.get("/").content.decode()


def test_a_long_list_is_cut_and_says_how_many_more(staff_client: Client) -> None:
    make_channel(models=[f"model-{i:02}" for i in range(UNPRICED_SHOWN + 3)])
    body = staff_client.get("/").content.decode()
    assert body.count('<a class="mono" href="/prices/?model=') == UNPRICED_SHOWN
    assert "and 3 more" in body


def test_the_unpriced_note_speaks_simplified_chinese(staff_client: Client) -> None:
    make_channel(models=["gpt-4o"])
    body = staff_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "未定价的模型" in body


# --- the home page is the dashboard -----------------------------------------------------


def test_the_home_page_is_the_dashboard(staff_client: Client) -> None:
    body = staff_client.get("/").content.decode()
    assert "<h1>Dashboard</h1>" in body
    for section in (
        "dashboard-traffic",
        "dashboard-breakdowns",
        "dashboard-health",
        "dashboard-money",
    ):
        assert f'id="{section}"' in body
    # What the overview showed stays: the base URL, the counts, the links.
    assert 'id="base-url"' in body and 'data-tokens="active"' in body


def test_the_dashboard_heading_speaks_simplified_chinese(staff_client: Client) -> None:
    body = staff_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "<h1>数据看板</h1>" in body
