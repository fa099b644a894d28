"""/channels/<pk>/delete/: GET asks first (the no-JavaScript way), POST deletes (htmx posts
directly after hx-confirm)."""

from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.factories import make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/delete/"
    assert_login_redirect(Client().get(url), url)
    assert_login_redirect(Client().post(url), url)
    # The login page comes first whatever the method.
    assert_login_redirect(Client().put(url), url)
    assert Channel.objects.exists()


def test_it_refuses_non_staff(plain_client: Client, channel: Channel) -> None:
    assert_forbidden(plain_client.get(f"/channels/{channel.pk}/delete/"))
    assert_forbidden(plain_client.post(f"/channels/{channel.pk}/delete/"))
    assert Channel.objects.exists()


def test_it_rejects_other_methods(staff_client: Client, channel: Channel) -> None:
    assert staff_client.put(f"/channels/{channel.pk}/delete/").status_code == 405
    assert Channel.objects.exists()


def test_get_asks_before_deleting(staff_client: Client, channel: Channel) -> None:
    response = staff_client.get(f"/channels/{channel.pk}/delete/", {"next": "/channels/?q=Prim"})
    body = response.content.decode()

    assert response.status_code == 200
    assert "Delete the channel “Primary”? This cannot be undone." in body
    assert f'<form method="post" action="/channels/{channel.pk}/delete/" class="actions">' in body
    assert 'name="next" value="/channels/?q=Prim"' in body
    assert '<a href="/channels/?q=Prim">Cancel</a>' in body
    # Showing the page deletes nothing.
    assert Channel.objects.exists()


def test_get_escapes_the_name(staff_client: Client) -> None:
    channel = make_channel(name='<b onmouseover="x">')
    body = staff_client.get(f"/channels/{channel.pk}/delete/").content.decode()
    assert '<b onmouseover="x">' not in body
    assert "&lt;b onmouseover=&quot;x&quot;&gt;" in body


def test_htmx_delete_removes_the_row(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(f"/channels/{channel.pk}/delete/", headers=HTMX)

    assert response.status_code == 200
    # The row (the swap target) is replaced by nothing.
    assert response.content == b""
    assert "HX-Request" in response["Vary"]
    assert not Channel.objects.exists()


def test_without_htmx_it_redirects_back_with_a_message(
    staff_client: Client, channel: Channel
) -> None:
    response = staff_client.post(f"/channels/{channel.pk}/delete/", {"next": "/channels/?q=Prim"})
    assert response["Location"] == "/channels/?q=Prim"
    assert "Deleted “Primary”." in staff_client.get("/channels/").content.decode()
    assert not Channel.objects.exists()


def test_it_never_goes_back_to_the_deleted_channel(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/delete/", {"next": f"/channels/{channel.pk}/"}
    )
    assert response["Location"] == "/channels/"


def test_it_404s_for_a_missing_channel(staff_client: Client) -> None:
    assert staff_client.post("/channels/999/delete/").status_code == 404
    assert staff_client.get("/channels/999/delete/").status_code == 404
