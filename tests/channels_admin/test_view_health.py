"""What the list and the edit page show of a channel's health: why and since when the breaker
took it out, when the prober tries it next, a running cool-down, the models taken off it; and
the "Timeouts" fieldset with the defaults as placeholders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from channels_admin.models import Channel
from channels_admin.services import channel_auto_disable, channel_cool_down, channel_disable_model
from tests.support.channels import edit_form

pytestmark = pytest.mark.django_db


def tripped(channel: Channel) -> Channel:
    channel_auto_disable(channel_id=channel.pk, reason="5 failures within 60s; the last: 502")
    return Channel.objects.get(pk=channel.pk)


def test_the_list_shows_why_and_since_when_on_hover(staff_client: Client, channel: Channel) -> None:
    channel = tripped(channel)
    assert channel.status_changed_at is not None
    since = timezone.localtime(channel.status_changed_at).strftime("%Y-%m-%d %H:%M:%S")
    body = staff_client.get("/channels/").content.decode()
    assert f'title="5 failures within 60s; the last: 502 · {since}"' in body
    assert "Auto-disabled <time" in body
    assert "Next automatic test <time" in body


def test_the_edit_page_shows_why_since_when_and_the_next_probe(
    staff_client: Client, channel: Channel
) -> None:
    channel = tripped(channel)
    body = staff_client.get(f"/channels/{channel.pk}/").content.decode()
    assert "5 failures within 60s; the last: 502" in body
    assert f'<time datetime="{channel.status_changed_at.isoformat()}"' in body  # type: ignore[union-attr]
    assert f'<time datetime="{channel.next_probe_at.isoformat()}"' in body  # type: ignore[union-attr]


def test_a_running_cool_down_is_shown_and_an_ended_one_is_not(
    staff_client: Client, channel: Channel
) -> None:
    until = timezone.now() + timedelta(minutes=5)
    channel_cool_down(channel_id=channel.pk, until=until)
    for url in ("/channels/", f"/channels/{channel.pk}/"):
        body = staff_client.get(url).content.decode()
        assert f'Rate-limited: skipped until <time datetime="{until.isoformat()}"' in body

    Channel.objects.filter(pk=channel.pk).update(cooldown_until=timezone.now())
    for url in ("/channels/", f"/channels/{channel.pk}/"):
        assert "Rate-limited" not in staff_client.get(url).content.decode()


def test_models_taken_off_are_shown_with_their_reason(
    staff_client: Client, channel: Channel
) -> None:
    channel_disable_model(
        channel_id=channel.pk, model="gpt-4o-mini", reason="The model <gpt-4o-mini> does not exist"
    )
    body = staff_client.get("/channels/").content.decode()
    assert (
        '<span class="ch-chip ch-chip-off" title="The model &lt;gpt-4o-mini&gt; does not exist">'
        "gpt-4o-mini</span>"
    ) in body
    body = staff_client.get(f"/channels/{channel.pk}/").content.decode()
    assert (
        "<li><code>gpt-4o-mini</code> — The model &lt;gpt-4o-mini&gt; does not exist</li>" in body
    )


def test_the_page_speaks_chinese(staff_client: Client, channel: Channel, settings: Any) -> None:
    channel = tripped(channel)
    channel_cool_down(channel_id=channel.pk, until=timezone.now() + timedelta(minutes=5))
    body = staff_client.get(
        f"/channels/{channel.pk}/", headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert "<legend>超时</legend>" in body
    assert "已限流" in body


# --- timeouts on the page ------------------------------------------------------------------------


def test_the_form_shows_the_defaults_as_placeholders(staff_client: Client, settings: Any) -> None:
    settings.CONNECT_TIMEOUT = 7.0
    settings.FIRST_BYTE_TIMEOUT = 600.0
    body = staff_client.get("/channels/add/").content.decode()
    assert "<legend>Timeouts</legend>" in body
    assert 'name="connect_timeout"' in body and 'placeholder="7"' in body
    assert 'name="first_byte_timeout"' in body and 'placeholder="600"' in body


def test_the_page_saves_clears_and_refuses_timeouts(staff_client: Client, channel: Channel) -> None:
    url = f"/channels/{channel.pk}/"
    response = staff_client.post(url, edit_form(channel, first_byte_timeout="90", total_timeout=""))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.first_byte_timeout, channel.total_timeout) == (90.0, None)
    assert 'name="first_byte_timeout" value="90.0"' in staff_client.get(url).content.decode()

    response = staff_client.post(url, edit_form(channel, stream_idle_timeout="0"))
    assert response.status_code == 200
    assert "Must be more than 0 seconds." in response.content.decode()
    channel.refresh_from_db()
    assert channel.first_byte_timeout == 90.0  # nothing saved

    staff_client.post(url, edit_form(channel, first_byte_timeout=""))
    channel.refresh_from_db()
    assert channel.first_byte_timeout is None
