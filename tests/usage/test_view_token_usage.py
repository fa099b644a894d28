"""/usage/tokens/<id>/: one token's last 30 days and what it has left; the token's edit page
loads it with htmx and links to it without JavaScript."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from tests.support.factories import make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tests.support.usage_entries import served, store

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def test_it_sends_anonymous_visitors_to_login() -> None:
    token = make_token().token
    assert_login_redirect(Client().get(f"/usage/tokens/{token.pk}/"), f"/usage/tokens/{token.pk}/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get(f"/usage/tokens/{make_token().token.pk}/"))


def test_an_unknown_token_is_404(staff_client: Client) -> None:
    assert staff_client.get("/usage/tokens/999999/").status_code == 404


def test_the_fragment_shows_the_tokens_own_days_and_what_it_has_left(
    staff_client: Client,
) -> None:
    token = make_token(name="Team A", quota_limit=10_000_000_000).token
    other = make_token(name="Other").token
    store(
        served(token_id=token.pk, prompt_tokens=100, completion_tokens=20, cost=2_000_000_000),
        served(token_id=other.pk, cost=7_000_000_000),
    )
    response = staff_client.get(f"/usage/tokens/{token.pk}/", headers=HTMX)
    body = response.content.decode()

    assert body.lstrip().startswith('<section class="card dash-token-usage" id="token-usage">')
    assert '<strong data-total="requests">1</strong>' in body
    assert '<strong data-total="tokens">120</strong>' in body
    assert '<strong data-total="cost">USD 2.00</strong>' in body
    assert "USD 8.00" in body  # quota left: 10 - 2
    charts = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", body, flags=re.S)]
    assert [len(chart.findall(f"{SVG}rect")) for chart in charts] == [30, 30, 30]
    assert "Show as table" in body
    assert "HX-Request" in response["Vary"]


def test_the_page_without_htmx_is_a_whole_page(staff_client: Client) -> None:
    token = make_token(name="Team A").token
    body = staff_client.get(f"/usage/tokens/{token.pk}/").content.decode()
    assert "<html" in body and "Usage of “Team A”" in body
    assert f'<a href="/tokens/{token.pk}/">' in body


def test_the_token_edit_page_embeds_it_with_a_link_for_no_javascript(
    staff_client: Client,
) -> None:
    token = make_token().token
    edit = staff_client.get(f"/tokens/{token.pk}/").content.decode()
    assert f'hx-get="/usage/tokens/{token.pk}/" hx-trigger="load"' in edit
    assert f'<a href="/usage/tokens/{token.pk}/">' in edit


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    token = make_token().token
    body = staff_client.get(
        f"/usage/tokens/{token.pk}/", headers={"Accept-Language": "zh-hans", **HTMX}
    ).content.decode()
    assert "最近 30 天用量" in body and "剩余额度" in body
