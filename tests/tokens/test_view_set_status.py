from __future__ import annotations

import pytest
from django.test import Client

from tests.support.factories import make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    token = make_token().token
    url = f"/tokens/{token.pk}/status/"
    assert_login_redirect(getattr(Client(), method)(url), url)
    assert Token.objects.get().status == "enabled"


def test_it_refuses_non_staff(plain_client: Client) -> None:
    token = make_token().token
    assert_forbidden(plain_client.post(f"/tokens/{token.pk}/status/", {"status": "disabled"}))
    assert Token.objects.get().status == "enabled"


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(f"/tokens/{make_token().token.pk}/status/").status_code == 405


def test_htmx_disable_returns_the_updated_row(staff_client: Client) -> None:
    token = make_token().token
    response = staff_client.post(
        f"/tokens/{token.pk}/status/", {"status": "disabled"}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="token-{token.pk}">')
    assert 'badge status-disabled">Disabled<' in body
    assert ">Enable</button>" in body
    assert "<html" not in body
    assert Token.objects.get().status == "disabled"


def test_htmx_enable_returns_the_updated_row(staff_client: Client) -> None:
    token = make_token(status="disabled").token
    body = staff_client.post(
        f"/tokens/{token.pk}/status/", {"status": "enabled"}, headers=HTMX
    ).content.decode()
    assert 'badge status-enabled">Enabled<' in body
    assert ">Disable</button>" in body
    assert Token.objects.get().status == "enabled"


def test_without_javascript_it_returns_to_the_list(staff_client: Client) -> None:
    token = make_token().token
    response = staff_client.post(f"/tokens/{token.pk}/status/", {"status": "disabled"}, follow=True)
    assert response.redirect_chain == [("/tokens/", 302)]
    assert "Token “Team A” disabled." in response.content.decode()


def test_a_bad_status_re_renders_the_row_with_the_error(staff_client: Client) -> None:
    token = make_token().token
    body = staff_client.post(
        f"/tokens/{token.pk}/status/", {"status": "paused"}, headers=HTMX
    ).content.decode()
    assert "Unknown status" in body
    assert 'badge status-enabled">Enabled<' in body
    assert Token.objects.get().status == "enabled"
