from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.pages import assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/delete/confirm/"
    assert_login_redirect(Client().get(url), url)


def test_it_refuses_non_staff(user_client: Client, channel: Channel) -> None:
    assert_forbidden(user_client.get(f"/channels/{channel.pk}/delete/confirm/"))


def test_it_asks_before_deleting(admin_client: Client, channel: Channel) -> None:
    response = admin_client.get(
        f"/channels/{channel.pk}/delete/confirm/", {"next": "/channels/?q=Prim"}
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert "Delete the channel “Primary”? This cannot be undone." in body
    assert f'<form method="post" action="/channels/{channel.pk}/delete/">' in body
    assert 'name="next" value="/channels/?q=Prim"' in body
    assert 'class="button" href="/channels/?q=Prim">Cancel</a>' in body
    # Showing the page deletes nothing.
    assert Channel.objects.exists()


def test_it_does_not_post(admin_client: Client, channel: Channel) -> None:
    assert admin_client.post(f"/channels/{channel.pk}/delete/confirm/").status_code == 405
    assert Channel.objects.exists()


def test_it_escapes_the_name(admin_client: Client, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel(name='<b onmouseover="x">')
    body = admin_client.get(f"/channels/{channel.pk}/delete/confirm/").content.decode()
    assert '<b onmouseover="x">' not in body
    assert "&lt;b onmouseover=&quot;x&quot;&gt;" in body
