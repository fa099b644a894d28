from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.factories import make_admin_key
from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import AdminKey

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/admin-keys/"), "/admin-keys/")


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/admin-keys/"))


def test_it_says_when_there_are_none(staff_client: Client) -> None:
    body = staff_client.get("/admin-keys/").content.decode()
    assert "No admin API keys yet." in body
    assert 'action="/admin-keys/add/"' in body


def test_it_lists_name_prefix_created_and_last_used(staff_client: Client) -> None:
    used, used_key = make_admin_key(name="deploy script")
    fresh, fresh_key = make_admin_key(name="backup job")
    AdminKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    body = staff_client.get("/admin-keys/").content.decode()
    assert "deploy script" in body and "backup job" in body
    assert used.display_prefix in body and fresh.display_prefix in body
    # Created and last used, relative, with the exact time on hover.
    assert body.count(">just now</time>") == 3
    assert body.count(f'title="{timezone.localtime():%Y-%m-%d} ') >= 2
    assert body.count(">Never<") == 1
    assert used_key not in body and fresh_key not in body
    assert f'href="/admin-keys/{used.pk}/revoke/"' in body
    assert f'hx-post="/admin-keys/{used.pk}/revoke/"' in body
