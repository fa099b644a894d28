from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel, ChannelStatus
from tests.channels_admin.conftest import SECRET_KEY, snapshot
from tests.support.pages import assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel(
        name="Primary",
        models=["gpt-4o-mini", "gpt-4o"],
        groups=["default", "vip"],
        weight=3,
        priority=5,
        model_mapping={"fast": "gpt-4o-mini", "smart": "gpt-4o"},
        test_model="gpt-4o",
    )


def _post(channel: Channel, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.base_url,
        "key": "",
        "models": "\n".join(channel.model_names),
        "groups": ", ".join(channel.groups),
        "weight": str(channel.weight),
        "priority": str(channel.priority),
        "status": channel.status,
        "test_model": channel.test_model,
        "mapping_mode": "rows",
        "mapping_from": list(channel.model_mapping),
        "mapping_to": list(channel.model_mapping.values()),
        "channel": str(channel.pk),
        "action": "save",
    }
    data.update(overrides)
    return data


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/"
    assert_login_redirect(Client().get(url), url)
    assert_login_redirect(Client().post(url, _post(channel, name="Hacked")), url)
    assert Channel.objects.get().name == "Primary"


def test_it_refuses_non_staff(user_client: Client, channel: Channel) -> None:
    assert_forbidden(user_client.get(f"/channels/{channel.pk}/"))
    assert_forbidden(user_client.post(f"/channels/{channel.pk}/", _post(channel, name="Hacked")))
    assert Channel.objects.get().name == "Primary"


def test_it_404s_for_a_missing_channel(admin_client: Client) -> None:
    assert admin_client.get("/channels/999/").status_code == 404


def test_it_shows_the_saved_values_and_only_the_masked_key(
    admin_client: Client, channel: Channel
) -> None:
    response = admin_client.get(f"/channels/{channel.pk}/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Edit channel “Primary”</h1>" in body
    assert 'value="Primary"' in body
    assert 'value="https://api.example.net/v1"' in body
    assert "gpt-4o-mini\ngpt-4o</textarea>" in body
    assert 'value="default, vip"' in body
    assert '<option value="enabled" selected>Enabled</option>' in body
    # The mapping as rows, plus an empty row to type into.
    assert 'name="mapping_from" value="fast"' in body
    assert 'name="mapping_to" value="gpt-4o"' in body
    assert body.count('name="mapping_from"') == 3
    assert f"Stored as {channel.key_mask}." in body
    assert SECRET_KEY not in body
    assert '<input type="password" name="key" autocomplete="new-password"' in body
    # The Test button of the edit page.
    assert f'hx-post="/channels/{channel.pk}/test/" hx-target="#test-result"' in body


def test_a_blank_key_keeps_the_stored_one(admin_client: Client, channel: Channel) -> None:
    response = admin_client.post(
        f"/channels/{channel.pk}/", _post(channel, name="Renamed", weight="9")
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.weight) == ("Renamed", 9)
    assert channel.api_key == SECRET_KEY


def test_a_new_key_replaces_the_stored_one(admin_client: Client, channel: Channel) -> None:
    new_key = "sk-replacement-key-9876543210zyxw"
    admin_client.post(f"/channels/{channel.pk}/", _post(channel, key=new_key))

    channel.refresh_from_db()
    assert channel.api_key == new_key
    assert channel.key_mask.endswith("zyxw")
    page = admin_client.get(f"/channels/{channel.pk}/").content
    assert new_key.encode() not in page and SECRET_KEY.encode() not in page


def test_it_edits_the_mapping(admin_client: Client, channel: Channel) -> None:
    admin_client.post(
        f"/channels/{channel.pk}/",
        _post(channel, mapping_from=["fast", "", "cheap"], mapping_to=["gpt-4o", "", "o1-mini"]),
    )
    channel.refresh_from_db()
    assert channel.model_mapping == {"fast": "gpt-4o", "cheap": "o1-mini"}


def test_removing_every_row_clears_the_mapping(admin_client: Client, channel: Channel) -> None:
    admin_client.post(f"/channels/{channel.pk}/", _post(channel, mapping_from=[], mapping_to=[]))
    channel.refresh_from_db()
    assert channel.model_mapping == {}


def test_bad_input_saves_nothing(admin_client: Client, channel: Channel) -> None:
    before = snapshot(channel)
    response = admin_client.post(
        f"/channels/{channel.pk}/",
        _post(
            channel,
            name="Renamed",
            key="has spaces in it",
            weight="lots",
            mapping_from=["fast", "fast"],
            mapping_to=["a", "b"],
        ),
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.count("Nothing was saved.") == 1
    assert 'id="id_key_errors"><li>Must be a non-empty key without spaces.' in body
    assert 'id="id_weight_errors"><li>Must be a whole number.' in body
    assert "“fast” is mapped more than once." in body
    assert "has spaces in it" not in body
    assert snapshot(channel) == before
    # The heading still names the channel as saved.
    assert "<h1>Edit channel “Primary”</h1>" in body


def test_an_auto_disabled_channel_can_stay_so(admin_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="HTTP 401"
    )
    channel.refresh_from_db()
    body = admin_client.get(f"/channels/{channel.pk}/").content.decode()
    assert '<option value="auto_disabled" selected>Auto-disabled</option>' in body

    admin_client.post(f"/channels/{channel.pk}/", _post(channel, weight="4"))
    channel.refresh_from_db()
    assert (channel.status, channel.status_reason, channel.weight) == (
        "auto_disabled",
        "HTTP 401",
        4,
    )


def test_a_channel_can_be_disabled_here(admin_client: Client, channel: Channel) -> None:
    admin_client.post(f"/channels/{channel.pk}/", _post(channel, status="disabled"))
    assert Channel.objects.get().status == "disabled"


def test_a_manual_status_cannot_be_auto_disabled(admin_client: Client, channel: Channel) -> None:
    body = admin_client.post(
        f"/channels/{channel.pk}/", _post(channel, status="auto_disabled")
    ).content.decode()
    assert 'id="id_status_errors"><li>Unknown status. Choose one of: enabled, disabled.' in body
    assert Channel.objects.get().status == "enabled"


def test_fetch_models_uses_the_stored_key(
    admin_client: Client, make_channel: Callable[..., Channel], upstream: Any
) -> None:
    live = make_channel(name="Live", base_url=upstream.v1, key=upstream.api_key, models=["x"])
    response = admin_client.post(
        f"/channels/{live.pk}/", _post(live, action="fetch-models", base_url="", key="")
    )
    body = response.content.decode()

    assert 'value="gpt-4o-mini"> gpt-4o-mini</label>' in body
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {upstream.api_key}"
    assert upstream.api_key not in body
    # Offering models saves nothing.
    assert Channel.objects.get(pk=live.pk).model_names == ["x"]
