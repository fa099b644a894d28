from __future__ import annotations

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import Token
from tokens.services import token_create

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    token, _ = token_create(name="t")
    url = f"/tokens/{token.pk}/confirm-delete/"
    assert_login_redirect(Client().get(url), url)


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token, _ = token_create(name="t")
    assert_forbidden(plain_client.get(f"/tokens/{token.pk}/confirm-delete/"))


def test_it_asks_before_deleting_and_deletes_nothing(staff_client: Client) -> None:
    token, key = token_create(name="Team A")
    body = staff_client.get(f"/tokens/{token.pk}/confirm-delete/").content.decode()
    assert "Delete the token “Team A”" in body
    assert f'action="/tokens/{token.pk}/delete/"' in body
    assert 'method="post"' in body
    assert token.display_prefix in body
    assert key not in body
    assert Token.objects.exists()
