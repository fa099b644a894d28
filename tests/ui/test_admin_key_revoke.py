from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tokens.models import AdminKey
from tokens.services import admin_key_create, admin_key_find

pytestmark = pytest.mark.django_db


def _key() -> tuple[AdminKey, str]:
    return admin_key_create(name="ci")


def test_it_sends_anonymous_visitors_to_login() -> None:
    admin_key, _ = _key()
    url = f"/tokens/admin-keys/{admin_key.pk}/revoke/"
    assert_login_redirect(Client().post(url), url)
    assert AdminKey.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    admin_key, _ = _key()
    assert_forbidden(plain_client.post(f"/tokens/admin-keys/{admin_key.pk}/revoke/"))
    assert AdminKey.objects.exists()


def test_it_rejects_get(staff_client: Client) -> None:
    admin_key, _ = _key()
    assert staff_client.get(f"/tokens/admin-keys/{admin_key.pk}/revoke/").status_code == 405
    assert AdminKey.objects.exists()


def test_it_needs_the_csrf_token(staff_user: Any) -> None:
    admin_key, _ = _key()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post(f"/tokens/admin-keys/{admin_key.pk}/revoke/").status_code == 403
    assert AdminKey.objects.exists()


def test_htmx_revoke_removes_the_row(staff_client: Client) -> None:
    admin_key, key = _key()
    response = staff_client.post(f"/tokens/admin-keys/{admin_key.pk}/revoke/", headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert admin_key_find(key) is None


def test_without_javascript_it_returns_to_the_list(staff_client: Client) -> None:
    admin_key, key = _key()
    response = staff_client.post(f"/tokens/admin-keys/{admin_key.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/tokens/admin-keys/", 302)]
    body = response.content.decode()
    assert "Admin API key “ci” revoked." in body
    assert "No admin API keys yet." in body
    assert admin_key_find(key) is None


def test_it_404s_for_an_unknown_key(staff_client: Client) -> None:
    assert staff_client.post("/tokens/admin-keys/999/revoke/").status_code == 404
