from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from channels_admin.services import channel_update
from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.services import admin_key_create, token_create

pytestmark = pytest.mark.django_db


def _count(body: str, attribute: str, value: str) -> int:
    match = re.search(rf'data-{attribute}="{value}">(\d+)<', body)
    assert match, f"no {attribute}={value} count on the page"
    return int(match.group(1))


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/"), "/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/"))


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post("/").status_code == 405


def test_it_counts_channels_by_status(
    staff_client: Client, make_channel: Callable[..., Any]
) -> None:
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
    assert "sk-upstream-secret" not in body


def test_it_counts_tokens(staff_client: Client) -> None:
    token_create(name="live")
    token_create(name="live too", expires_at=timezone.now() + timedelta(days=1))
    token_create(name="off", status="disabled")
    token_create(name="old", expires_at=timezone.now() - timedelta(days=1))
    admin_key_create(name="ci")

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
