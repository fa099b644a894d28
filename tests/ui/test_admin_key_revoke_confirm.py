from __future__ import annotations

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import AdminKey
from tokens.services import admin_key_create

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    admin_key, _ = admin_key_create(name="ci")
    url = f"/tokens/admin-keys/{admin_key.pk}/confirm-revoke/"
    assert_login_redirect(Client().get(url), url)


def test_it_refuses_non_staff(plain_client: Client) -> None:
    admin_key, _ = admin_key_create(name="ci")
    assert_forbidden(plain_client.get(f"/tokens/admin-keys/{admin_key.pk}/confirm-revoke/"))


def test_it_asks_before_revoking_and_revokes_nothing(staff_client: Client) -> None:
    admin_key, key = admin_key_create(name="ci")
    body = staff_client.get(f"/tokens/admin-keys/{admin_key.pk}/confirm-revoke/").content.decode()
    assert "Revoke the admin API key “ci”" in body
    assert f'action="/tokens/admin-keys/{admin_key.pk}/revoke/"' in body
    assert key not in body
    assert AdminKey.objects.exists()
