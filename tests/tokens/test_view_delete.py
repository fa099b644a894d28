from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.factories import make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    token = make_token().token
    url = f"/tokens/{token.pk}/delete/"
    assert_login_redirect(getattr(Client(), method)(url), url)
    assert Token.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token = make_token().token
    assert_forbidden(plain_client.get(f"/tokens/{token.pk}/delete/"))
    assert_forbidden(plain_client.post(f"/tokens/{token.pk}/delete/"))
    assert Token.objects.exists()


def test_it_allows_only_get_and_post(staff_client: Client) -> None:
    token = make_token().token
    assert staff_client.put(f"/tokens/{token.pk}/delete/").status_code == 405
    assert Token.objects.exists()


def test_a_get_asks_before_deleting_and_deletes_nothing(staff_client: Client) -> None:
    token, key = make_token(name="Team B")
    body = staff_client.get(f"/tokens/{token.pk}/delete/").content.decode()
    assert "Delete the token “Team B”" in body
    assert f'action="/tokens/{token.pk}/delete/"' in body
    assert 'method="post"' in body
    assert token.display_prefix in body
    assert key not in body
    assert Token.objects.filter(pk=token.pk).exists()


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    token = make_token().token
    assert csrf_client.post(f"/tokens/{token.pk}/delete/").status_code == 403
    assert Token.objects.exists()


def test_htmx_delete_removes_the_row_and_refreshes_the_table(staff_client: Client) -> None:
    token = make_token().token
    response = staff_client.post(f"/tokens/{token.pk}/delete/", headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert json.loads(response["HX-Trigger"]) == {"tokens-changed": {}}
    assert not Token.objects.exists()


def test_without_javascript_it_returns_to_the_list(staff_client: Client) -> None:
    token = make_token().token
    response = staff_client.post(f"/tokens/{token.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/tokens/", 302)]
    assert "Token “Team A” deleted." in response.content.decode()
    assert not Token.objects.exists()


def test_it_404s_for_an_unknown_token(staff_client: Client) -> None:
    assert staff_client.get("/tokens/999/delete/").status_code == 404
    assert staff_client.post("/tokens/999/delete/").status_code == 404
