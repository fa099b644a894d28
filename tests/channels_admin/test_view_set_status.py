from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel, ChannelStatus
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/status/"
    assert_login_redirect(Client().post(url, {"status": "disabled"}), url)
    assert Channel.objects.get().status == "enabled"


def test_it_refuses_non_staff(plain_client: Client, channel: Channel) -> None:
    assert_forbidden(plain_client.post(f"/channels/{channel.pk}/status/", {"status": "disabled"}))
    assert Channel.objects.get().status == "enabled"


def test_it_rejects_get(staff_client: Client, channel: Channel) -> None:
    assert staff_client.get(f"/channels/{channel.pk}/status/").status_code == 405


def test_htmx_disable_returns_the_row(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/status/", {"status": "disabled"}, headers=HTMX
    )
    body = response.content.decode()

    assert body.startswith(f'<tr id="channel-{channel.pk}"')
    assert 'badge status-disabled">Disabled<' in body
    assert 'name="status" value="enabled" class="button small">Enable</button>' in body
    assert Channel.objects.get().status == "disabled"


def test_htmx_enable_returns_the_row(staff_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISABLED)
    body = staff_client.post(
        f"/channels/{channel.pk}/status/", {"status": "enabled"}, headers=HTMX
    ).content.decode()

    assert 'badge status-enabled">Enabled<' in body
    assert ">Disable</button>" in body
    assert Channel.objects.get().status == "enabled"


def test_enabling_an_auto_disabled_channel_clears_the_reason(
    staff_client: Client, channel: Channel
) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="HTTP 500"
    )
    staff_client.post(f"/channels/{channel.pk}/status/", {"status": "enabled"}, headers=HTMX)
    channel.refresh_from_db()
    assert (channel.status, channel.status_reason) == ("enabled", "")


def test_only_enabled_or_disabled_can_be_chosen(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/status/", {"status": "auto_disabled"}, headers=HTMX
    )
    body = response.content.decode()

    assert body.startswith(f'<tr id="channel-{channel.pk}"')
    assert "<li>Choose enabled or disabled.</li>" in body
    assert Channel.objects.get().status == "enabled"


def test_without_htmx_it_redirects_back_with_a_message(
    staff_client: Client, channel: Channel
) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/status/", {"status": "disabled", "next": "/channels/?p=1"}
    )
    assert response["Location"] == "/channels/?p=1"
    assert "Disabled “Primary”." in staff_client.get("/channels/").content.decode()
    assert Channel.objects.get().status == "disabled"
