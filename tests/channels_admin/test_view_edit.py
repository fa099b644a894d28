from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel, ChannelStatus
from tests.support.channels import edit_form, key_rows, snapshot, stored_keys
from tests.support.factories import CHANNEL_KEY, make_channel
from tests.support.pages import assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(full_channel: Channel) -> None:
    url = f"/channels/{full_channel.pk}/"
    assert_login_redirect(Client().get(url), url)
    assert_login_redirect(Client().post(url, edit_form(full_channel, name="Hacked")), url)
    assert Channel.objects.get().name == "Primary"


def test_it_refuses_non_staff(plain_client: Client, full_channel: Channel) -> None:
    assert_forbidden(plain_client.get(f"/channels/{full_channel.pk}/"))
    assert_forbidden(
        plain_client.post(f"/channels/{full_channel.pk}/", edit_form(full_channel, name="Hacked"))
    )
    assert Channel.objects.get().name == "Primary"


def test_it_404s_for_a_missing_channel(staff_client: Client) -> None:
    assert staff_client.get("/channels/999/").status_code == 404


def test_it_shows_the_saved_values_and_only_the_masked_key(
    staff_client: Client, full_channel: Channel
) -> None:
    response = staff_client.get(f"/channels/{full_channel.pk}/")
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
    # The keys, masked, each with its status and a Remove button.
    assert "<td><code>sk-…WXYZ</code></td>" in body
    assert f'action="/channels/{full_channel.pk}/keys/0/remove/"' in body
    assert CHANNEL_KEY not in body
    assert '<textarea name="add_keys"' in body
    # The Test button of the edit page.
    assert f'hx-post="/channels/{full_channel.pk}/test/" hx-target="#test-result"' in body


def test_a_blank_key_keeps_the_stored_one(staff_client: Client, full_channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{full_channel.pk}/", edit_form(full_channel, name="Renamed", weight="9")
    )

    assert response.status_code == 302
    full_channel.refresh_from_db()
    assert (full_channel.name, full_channel.weight) == ("Renamed", 9)
    assert full_channel.api_key == CHANNEL_KEY


def test_keys_typed_here_are_added(staff_client: Client, full_channel: Channel) -> None:
    new_key = "sk-replacement-key-9876543210zyxw"
    staff_client.post(
        f"/channels/{full_channel.pk}/", edit_form(full_channel, add_keys=f"{new_key}\n\n")
    )

    assert key_rows(full_channel) == [
        (0, "sk-…WXYZ", "enabled", ""),
        (1, "sk-…zyxw", "enabled", ""),
    ]
    assert stored_keys(full_channel) == [CHANNEL_KEY, new_key]
    page = staff_client.get(f"/channels/{full_channel.pk}/").content
    assert new_key.encode() not in page and CHANNEL_KEY.encode() not in page


def test_it_edits_the_mapping(staff_client: Client, full_channel: Channel) -> None:
    staff_client.post(
        f"/channels/{full_channel.pk}/",
        edit_form(
            full_channel, mapping_from=["fast", "", "cheap"], mapping_to=["gpt-4o", "", "o1-mini"]
        ),
    )
    full_channel.refresh_from_db()
    assert full_channel.model_mapping == {"fast": "gpt-4o", "cheap": "o1-mini"}


def test_removing_every_row_clears_the_mapping(staff_client: Client, full_channel: Channel) -> None:
    staff_client.post(
        f"/channels/{full_channel.pk}/", edit_form(full_channel, mapping_from=[], mapping_to=[])
    )
    full_channel.refresh_from_db()
    assert full_channel.model_mapping == {}


def test_bad_input_saves_nothing(staff_client: Client, full_channel: Channel) -> None:
    before = snapshot(full_channel)
    response = staff_client.post(
        f"/channels/{full_channel.pk}/",
        edit_form(
            full_channel,
            name="Renamed",
            add_keys="sk-fine-key-000000000000\nhas spaces in it",
            weight="lots",
            mapping_from=["fast", "fast"],
            mapping_to=["a", "b"],
        ),
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.count("Nothing was saved.") == 1
    assert 'id="id_add_keys_errors"><li>Key 2: Must be a non-empty key without spaces.' in body
    assert 'id="id_weight_errors"><li>Must be a whole number.' in body
    assert "“fast” is mapped more than once." in body
    assert "has spaces in it" not in body
    assert snapshot(full_channel) == before
    # The heading still names the channel as saved.
    assert "<h1>Edit channel “Primary”</h1>" in body


def test_an_auto_disabled_channel_can_stay_so(staff_client: Client, full_channel: Channel) -> None:
    Channel.objects.filter(pk=full_channel.pk).update(
        status=ChannelStatus.AUTO_DISABLED, status_reason="HTTP 401"
    )
    full_channel.refresh_from_db()
    body = staff_client.get(f"/channels/{full_channel.pk}/").content.decode()
    assert '<option value="auto_disabled" selected>Auto-disabled</option>' in body

    staff_client.post(f"/channels/{full_channel.pk}/", edit_form(full_channel, weight="4"))
    full_channel.refresh_from_db()
    assert (full_channel.status, full_channel.status_reason, full_channel.weight) == (
        "auto_disabled",
        "HTTP 401",
        4,
    )


def test_a_channel_can_be_disabled_here(staff_client: Client, full_channel: Channel) -> None:
    staff_client.post(f"/channels/{full_channel.pk}/", edit_form(full_channel, status="disabled"))
    assert Channel.objects.get().status == "disabled"


def test_a_manual_status_cannot_be_auto_disabled(
    staff_client: Client, full_channel: Channel
) -> None:
    body = staff_client.post(
        f"/channels/{full_channel.pk}/", edit_form(full_channel, status="auto_disabled")
    ).content.decode()
    assert 'id="id_status_errors"><li>Unknown status. Choose one of: enabled, disabled.' in body
    assert Channel.objects.get().status == "enabled"


def test_fetch_models_uses_the_stored_key(staff_client: Client, upstream: Any) -> None:
    live = make_channel(name="Live", base_url=upstream.v1, key=upstream.api_key, models=["x"])
    response = staff_client.post(
        f"/channels/{live.pk}/", edit_form(live, action="fetch-models", base_url="", key="")
    )
    body = response.content.decode()

    assert 'value="gpt-4o-mini"> gpt-4o-mini</label>' in body
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {upstream.api_key}"
    assert upstream.api_key not in body
    # Offering models saves nothing.
    assert Channel.objects.get(pk=live.pk).model_names == ["x"]
