from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/tokens/new/"), "/tokens/new/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/tokens/new/"))


def test_it_shows_the_form_posting_to_create(staff_client: Client) -> None:
    body = staff_client.get("/tokens/new/").content.decode()
    assert 'action="/tokens/create/"' in body
    for field in ("name", "group", "status", "expires_at", "allowed_ips"):
        assert f'name="{field}"' in body
    assert 'type="datetime-local"' in body
    assert 'value="default"' in body


def test_it_offers_the_models_enabled_channels_serve(
    staff_client: Client, make_channel: Callable[..., Any]
) -> None:
    make_channel(models=["gpt-4o", "gpt-4o-mini"], model_mapping={"fast": "gpt-4o-mini"})
    make_channel(models=["claude-x"], status="disabled")
    body = staff_client.get("/tokens/new/").content.decode()
    for name in ("gpt-4o", "gpt-4o-mini", "fast"):
        assert f'name="models" value="{name}"' in body
    assert "claude-x" not in body


def test_it_says_when_no_model_is_served(staff_client: Client) -> None:
    body = staff_client.get("/tokens/new/").content.decode()
    assert 'name="models"' not in body
    assert "No enabled channel serves a model yet" in body


def test_it_suggests_channel_groups(staff_client: Client, make_channel: Callable[..., Any]) -> None:
    make_channel(groups=["vip", "default"])
    body = staff_client.get("/tokens/new/").content.decode()
    assert '<option value="vip">' in body
