from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect
from tokens.models import AdminKey
from tokens.services import admin_key_find

pytestmark = pytest.mark.django_db

URL = "/tokens/admin-keys/create/"


def _shown_key(body: str) -> str:
    marker = 'id="new-key" class="mono secret" value="'
    start = body.index(marker) + len(marker)
    return body[start : body.index('"', start)]


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().post(URL, {"name": "ci"}), URL)
    assert not AdminKey.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.post(URL, {"name": "ci"}))
    assert not AdminKey.objects.exists()


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(URL).status_code == 405


def test_it_needs_the_csrf_token(staff_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post(URL, {"name": "ci"}).status_code == 403
    assert not AdminKey.objects.exists()


def test_it_shows_the_key_once(staff_client: Client) -> None:
    response = staff_client.post(URL, {"name": "ci"})
    body = response.content.decode()
    key = _shown_key(body)
    assert key.startswith("tga-")
    assert "shown only this once" in body
    assert f"Authorization: Bearer {key}" in body
    assert "http://testserver/api/channels" in body
    assert "no-store" in response["Cache-Control"]

    admin_key = AdminKey.objects.get()
    assert admin_key.name == "ci"
    assert admin_key_find(key) == admin_key
    for value in AdminKey.objects.values().get().values():
        assert key not in str(value)
    later = staff_client.get("/tokens/admin-keys/").content.decode()
    assert admin_key.display_prefix in later
    assert key not in later
    assert key not in str(dict(staff_client.session.items()))


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_bad_name_shows_the_error_and_saves_nothing(staff_client: Client, name: str) -> None:
    response = staff_client.post(URL, {"name": name})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert 'id="id_name_errors"' in body
    assert "new-key" not in body
    assert not AdminKey.objects.exists()
