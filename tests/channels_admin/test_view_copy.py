from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.factories import CHANNEL_KEY
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/copy/"
    assert_login_redirect(Client().post(url), url)
    assert Channel.objects.count() == 1


def test_it_refuses_non_staff(plain_client: Client, channel: Channel) -> None:
    assert_forbidden(plain_client.post(f"/channels/{channel.pk}/copy/"))
    assert Channel.objects.count() == 1


def test_it_rejects_get(staff_client: Client, channel: Channel) -> None:
    assert staff_client.get(f"/channels/{channel.pk}/copy/").status_code == 405
    assert Channel.objects.count() == 1


def test_htmx_copy_returns_the_new_row(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(f"/channels/{channel.pk}/copy/", headers=HTMX)
    body = response.content.decode()

    copy = Channel.objects.exclude(pk=channel.pk).get()
    assert response.status_code == 200
    assert body.startswith(f'<tr id="channel-{copy.pk}" class="ch-row ch-row-enabled is-new"')
    assert "Primary (copy)" in body
    assert "HX-Request" in response["Vary"]
    assert copy.api_key == CHANNEL_KEY
    assert CHANNEL_KEY not in body


def test_without_htmx_it_opens_the_copy(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(f"/channels/{channel.pk}/copy/")

    # Answered with a redirect (POST-redirect-GET): reloading the page copies nothing more.
    assert response.status_code == 302
    copy = Channel.objects.exclude(pk=channel.pk).get()
    assert response["Location"] == f"/channels/{copy.pk}/"
    page = staff_client.get(response["Location"]).content.decode()
    assert Channel.objects.count() == 2
    assert "Copied “Primary”. You are editing the copy." in page
    assert "<h1>Edit channel “Primary (copy)”</h1>" in page


def test_it_404s_for_a_missing_channel(staff_client: Client) -> None:
    assert staff_client.post("/channels/999/copy/").status_code == 404
