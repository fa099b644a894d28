from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.services import token_create

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    token, _ = token_create(name="t")
    assert_login_redirect(Client().get(f"/tokens/{token.pk}/edit/"), f"/tokens/{token.pk}/edit/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token, _ = token_create(name="t")
    assert_forbidden(plain_client.get(f"/tokens/{token.pk}/edit/"))


def test_it_404s_for_an_unknown_token(staff_client: Client) -> None:
    assert staff_client.get("/tokens/999/edit/").status_code == 404


def test_it_shows_the_current_values_but_not_the_key(
    staff_client: Client, make_channel: Callable[..., Any]
) -> None:
    make_channel(models=["gpt-4o"])
    token, key = token_create(
        name="Team A",
        group="vip",
        expires_at=datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC),
        models=["gpt-4o", "retired-model"],
        allowed_ips=["10.0.0.0/8"],
    )
    body = staff_client.get(f"/tokens/{token.pk}/edit/").content.decode()
    assert f'action="/tokens/{token.pk}/update/"' in body
    assert 'value="Team A"' in body
    assert 'value="vip"' in body
    assert 'value="2031-02-03T04:05"' in body
    assert ">\n10.0.0.0/8</textarea>" in body
    # A model no channel serves any more stays ticked, so saving does not drop it.
    assert 'value="retired-model"' in body
    assert body.count("checked") == 2
    assert token.display_prefix in body
    assert key not in body
