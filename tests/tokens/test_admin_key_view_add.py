"""/admin-keys/add/: the create (POST), then the key shown once after a redirect."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.pages import assert_forbidden, assert_login_redirect, shown_key
from tokens.models import AdminKey
from tokens.services import admin_key_find

pytestmark = pytest.mark.django_db

URL = "/admin-keys/add/"


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(method: str) -> None:
    assert_login_redirect(getattr(Client(), method)(URL), URL)
    assert not AdminKey.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.post(URL, {"name": "ci"}))
    assert not AdminKey.objects.exists()


def test_it_allows_only_get_and_post(staff_client: Client) -> None:
    assert staff_client.put(URL).status_code == 405


def test_a_get_shows_the_list_with_the_form(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert f'action="{URL}"' in body
    assert "No admin API keys yet." in body


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    assert csrf_client.post(URL, {"name": "ci"}).status_code == 403
    assert not AdminKey.objects.exists()


def test_a_create_redirects_and_the_next_page_shows_the_key_once(staff_client: Client) -> None:
    response = staff_client.post(URL, {"name": "ci"})
    admin_key = AdminKey.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin-keys/{admin_key.pk}/created/"
    waiting = str(dict(staff_client.session.items()))

    shown = staff_client.get(response["Location"])
    body = shown.content.decode()
    key = shown_key(body)
    assert key.startswith("tga-")
    assert "shown only this once" in body
    assert f"Authorization: Bearer {key}" in body
    assert "http://testserver/api/channels" in body
    assert "no-store" in shown["Cache-Control"]
    assert admin_key.name == "ci"
    assert admin_key_find(key) == admin_key
    assert key not in waiting
    for value in AdminKey.objects.values().get().values():
        assert key not in str(value)

    again = staff_client.get(response["Location"], follow=True)
    assert again.redirect_chain == [("/admin-keys/", 302)]
    later = again.content.decode()
    assert "was shown once and cannot be shown again" in later
    assert admin_key.display_prefix in later
    assert key not in later
    assert key not in str(dict(staff_client.session.items()))
    assert AdminKey.objects.count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_bad_name_shows_the_error_and_saves_nothing(staff_client: Client, name: str) -> None:
    response = staff_client.post(URL, {"name": name})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert 'id="id_name_errors"' in body
    assert "new-key" not in body
    assert not AdminKey.objects.exists()
