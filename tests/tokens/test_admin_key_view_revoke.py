from __future__ import annotations

import pytest
from django.test import Client

from tests.support.factories import make_admin_key
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tokens.models import AdminKey
from tokens.services import admin_key_find

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    admin_key, _ = make_admin_key(name="ci")
    url = f"/admin-keys/{admin_key.pk}/revoke/"
    assert_login_redirect(getattr(Client(), method)(url), url)
    assert AdminKey.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    admin_key, _ = make_admin_key(name="ci")
    assert_forbidden(plain_client.get(f"/admin-keys/{admin_key.pk}/revoke/"))
    assert_forbidden(plain_client.post(f"/admin-keys/{admin_key.pk}/revoke/"))
    assert AdminKey.objects.exists()


def test_it_allows_only_get_and_post(staff_client: Client) -> None:
    admin_key, _ = make_admin_key(name="ci")
    assert staff_client.put(f"/admin-keys/{admin_key.pk}/revoke/").status_code == 405
    assert AdminKey.objects.exists()


def test_a_get_asks_before_revoking_and_revokes_nothing(staff_client: Client) -> None:
    admin_key, key = make_admin_key(name="ci")
    body = staff_client.get(f"/admin-keys/{admin_key.pk}/revoke/").content.decode()
    assert "Revoke the admin API key “ci”" in body
    assert f'action="/admin-keys/{admin_key.pk}/revoke/"' in body
    assert key not in body
    assert AdminKey.objects.exists()


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    admin_key, _ = make_admin_key(name="ci")
    assert csrf_client.post(f"/admin-keys/{admin_key.pk}/revoke/").status_code == 403
    assert AdminKey.objects.exists()


def test_htmx_revoke_removes_the_row(staff_client: Client) -> None:
    admin_key, key = make_admin_key(name="ci")
    response = staff_client.post(f"/admin-keys/{admin_key.pk}/revoke/", headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert admin_key_find(key) is None


def test_without_javascript_it_returns_to_the_list(staff_client: Client) -> None:
    admin_key, key = make_admin_key(name="ci")
    response = staff_client.post(f"/admin-keys/{admin_key.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/admin-keys/", 302)]
    body = response.content.decode()
    assert "Admin API key “ci” revoked." in body
    assert "No admin API keys yet." in body
    assert admin_key_find(key) is None


def test_it_404s_for_an_unknown_key(staff_client: Client) -> None:
    assert staff_client.get("/admin-keys/999/revoke/").status_code == 404
    assert staff_client.post("/admin-keys/999/revoke/").status_code == 404
