"""Channels with many keys: the API's `key`/`keys`, the pages' boxes and key list, and the
keys' services (remove, re-enable, disable when refused, the relay's read)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from channels_admin.models import Channel, ChannelKey
from channels_admin.selectors import relay_keys
from channels_admin.services import (
    LastKeyError,
    channel_copy,
    channel_key_disable,
    channel_key_enable,
    channel_key_remove,
    channel_update,
)
from channels_admin.validation import MAX_KEYS
from tests.support.api import db_snapshot, error_of
from tests.support.audit import ALICE
from tests.support.channels import add_form, edit_form, key_rows, stored_keys
from tests.support.factories import NEW_CHANNEL, make_channel
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db

K1 = "sk-first-key-00000000000000000001"
K2 = "sk-second-key-0000000000000000002"
K3 = "sk-third-key-00000000000000000003"
ALL = (K1, K2, K3)


def masked(key: str) -> str:
    return f"{key[:3]}…{key[-4:]}"


def assert_no_key(content: bytes | str, *keys: str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    for key in keys:
        assert key not in text
        assert key[3:-4] not in text


def three_keys(**overrides: Any) -> Channel:
    return make_channel(**{"key": "", "keys": list(ALL), **overrides})


# --- the API -----------------------------------------------------------------------------


def test_the_api_creates_a_channel_with_many_keys(api: Client) -> None:
    body = {**NEW_CHANNEL, "key": None, "keys": [K1, K2, K1, K3], "key_mode": "round_robin"}
    del body["key"]
    response = api.post("/api/channels", data=body, content_type="application/json")
    assert response.status_code == 201
    answer = response.json()
    assert answer["key_mode"] == "round_robin"
    assert answer["keys"] == [
        {"index": i, "mask": masked(key), "status": "enabled", "reason": ""}
        for i, key in enumerate(ALL)
    ]
    assert_no_key(response.content, *ALL)
    assert stored_keys(Channel.objects.get()) == list(ALL)


def test_the_api_refuses_too_many_keys(api: Client) -> None:
    keys = [f"sk-many-keys-{i:020d}" for i in range(MAX_KEYS + 1)]
    body = {k: v for k, v in NEW_CHANNEL.items() if k != "key"}
    response = api.post(
        "/api/channels", data={**body, "keys": keys}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "At most 100 keys" in error_of(response)["fields"]["keys"][0]
    assert not Channel.objects.exists()


def test_a_refused_key_in_a_list_is_named_by_position_only(api: Client) -> None:
    body = {k: v for k, v in NEW_CHANNEL.items() if k != "key"}
    secret = "sk-has a space-0000000000"
    response = api.post(
        "/api/channels", data={**body, "keys": [K1, secret]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"]["keys"] == [
        "Key 2: Must be a non-empty key without spaces."
    ]
    assert_no_key(response.content, K1)
    assert "sk-has" not in response.content.decode()


def test_patching_keys_replaces_them_all(api: Client) -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=1, reason="401 no")
    new = "sk-fourth-key-0000000000000000004"
    response = api.patch(
        f"/api/channels/{channel.pk}", data={"keys": [K2, new]}, content_type="application/json"
    )
    assert response.status_code == 200
    # K2 keeps its index and is back in rotation; K1 and K3 are gone; the new key is #3.
    assert response.json()["keys"] == [
        {"index": 1, "mask": masked(K2), "status": "enabled", "reason": ""},
        {"index": 3, "mask": masked(new), "status": "enabled", "reason": ""},
    ]
    assert_no_key(response.content, *ALL, new)
    assert stored_keys(channel) == [K2, new]


def test_patching_one_key_replaces_them_all(api: Client) -> None:
    channel = three_keys()
    response = api.patch(
        f"/api/channels/{channel.pk}", data={"key": K3}, content_type="application/json"
    )
    assert response.status_code == 200
    assert [key["index"] for key in response.json()["keys"]] == [2]
    assert stored_keys(channel) == [K3]


def test_patching_without_keys_keeps_them(api: Client) -> None:
    channel = three_keys()
    response = api.patch(
        f"/api/channels/{channel.pk}",
        data={"key_mode": "round_robin", "weight": 2},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["key_mode"] == "round_robin"
    assert stored_keys(channel) == list(ALL)


def test_both_key_and_keys_is_refused_and_saves_nothing(api: Client) -> None:
    channel = three_keys()
    before = db_snapshot()
    response = api.patch(
        f"/api/channels/{channel.pk}",
        data={"key": K1, "keys": [K2]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"keys": ["Give either key or keys, not both."]}
    assert db_snapshot() == before


def test_a_new_address_with_new_keys_replaces_the_old_ones(api: Client) -> None:
    channel = three_keys()
    response = api.patch(
        f"/api/channels/{channel.pk}",
        data={"base_url": "https://other.example.net/v1", "keys": [K1]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert stored_keys(channel) == [K1]


def test_the_list_shows_every_key_masked_in_few_queries(api: Client) -> None:
    for n in range(3):
        three_keys(name=f"c{n}")
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/channels")
    assert [len(item["keys"]) for item in response.json()["data"]] == [3, 3, 3]
    assert_no_key(response.content, *ALL)
    # The keys of every channel in one query, not one per channel.
    assert sum("channels_admin_channelkey" in q["sql"] for q in queries.captured_queries) == 1


# --- services ----------------------------------------------------------------------------


def test_disabling_a_refused_key_leaves_the_others_serving() -> None:
    channel = three_keys()
    version = db_snapshot()["relay_version"]
    assert channel_key_disable(channel_id=channel.pk, index=1, reason="HTTP 401:\x00 bad\nkey")
    assert key_rows(channel)[1] == (1, masked(K2), "disabled", "HTTP 401:\ufffd bad\ufffdkey")
    assert ChannelKey.objects.get(channel=channel, index=1).changed_at is not None
    channel.refresh_from_db()
    assert channel.status == "enabled"
    assert db_snapshot()["relay_version"] > version
    event = AuditEvent.objects.get(action="key_disabled")
    assert (event.actor_kind, event.actor) == ("system", "gateway")
    assert masked(K2) in event.detail
    assert_no_key(str(list(AuditEvent.objects.values())), *ALL)
    # Again, or an unknown key: nothing to change.
    assert not channel_key_disable(channel_id=channel.pk, index=1, reason="again")
    assert not channel_key_disable(channel_id=channel.pk, index=9, reason="none")


def test_a_reason_is_cut_to_300_characters() -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=0, reason="x" * 1000)
    assert len(key_rows(channel)[0][3]) == 300


def test_the_last_key_refused_auto_disables_the_channel() -> None:
    channel = make_channel(keys=[K1, K2], key="")
    channel_key_disable(channel_id=channel.pk, index=0, reason="HTTP 401")
    channel_key_disable(channel_id=channel.pk, index=1, reason="quota gone")
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"
    assert channel.status_reason.startswith("every key was refused")
    assert channel.next_probe_at is not None
    assert AuditEvent.objects.filter(action="auto_disabled").count() == 1


def test_a_channel_disabled_by_hand_stays_so() -> None:
    channel = make_channel(status="disabled")
    channel_key_disable(channel_id=channel.pk, index=0, reason="HTTP 401")
    channel.refresh_from_db()
    assert channel.status == "disabled"


def test_relay_keys_gives_the_enabled_keys_in_order_from_the_prefetch() -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=0, reason="HTTP 401")
    [loaded] = Channel.objects.prefetch_related("keys")
    with CaptureQueriesContext(connection) as queries:
        assert relay_keys(loaded) == [(1, K2), (2, K3)]
    assert queries.captured_queries == []


def test_relay_keys_leaves_out_a_key_that_cannot_be_decrypted() -> None:
    channel = three_keys()
    ChannelKey.objects.filter(channel=channel, index=1).update(key_encrypted="not-fernet")
    assert relay_keys(channel) == [(0, K1), (2, K3)]


def test_removing_keys_never_reuses_an_index() -> None:
    channel = three_keys()
    assert channel_key_remove(channel=channel, index=2, actor=ALICE)
    channel_update(channel=channel, changes={"add_keys": [K3]}, actor=ALICE)
    assert [row[0] for row in key_rows(channel)] == [0, 1, 3]
    event = AuditEvent.objects.get(action="key_removed")
    assert event.changes == {"key #2": [masked(K3), None]}


def test_the_only_key_cannot_be_removed() -> None:
    channel = make_channel()
    with pytest.raises(LastKeyError):
        channel_key_remove(channel=channel, index=0, actor=ALICE)
    assert len(key_rows(channel)) == 1


def test_re_enabling_a_key() -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=2, reason="quota")
    assert channel_key_enable(channel=channel, index=2, actor=ALICE)
    assert key_rows(channel)[2] == (2, masked(K3), "enabled", "")
    assert not channel_key_enable(channel=channel, index=2, actor=ALICE)


def test_a_copy_has_the_same_keys() -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=0, reason="HTTP 401")
    copy = channel_copy(channel=channel, actor=ALICE)
    assert key_rows(copy) == key_rows(channel)
    assert stored_keys(copy) == list(ALL)


# --- the pages ---------------------------------------------------------------------------


def test_the_add_page_takes_one_key_per_line(staff_client: Client) -> None:
    response = staff_client.post(
        "/channels/add/", add_form(keys=f"{K1}\r\n\r\n  {K2}  \n{K1}\n", key_mode="round_robin")
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert stored_keys(channel) == [K1, K2]
    assert channel.key_mode == "round_robin"


def test_a_refused_add_never_shows_the_typed_keys_again(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/add/", add_form(keys=f"{K1}\n{K2}", weight="-1")
    ).content.decode()
    assert "Must be at least 0." in body
    assert "never sent back to the browser" in body
    assert_no_key(body, K1, K2)


def test_the_edit_page_lists_the_keys_masked_with_status_and_reason(
    staff_client: Client,
) -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=1, reason="Incorrect API key provided")
    body = staff_client.get(f"/channels/{channel.pk}/").content.decode()
    for key in ALL:
        assert f"<td><code>{masked(key)}</code></td>" in body
    assert 'id="channel-key-1" class="ch-key ch-key-disabled"' in body
    assert "Incorrect API key provided" in body
    assert f'action="/channels/{channel.pk}/keys/1/enable/"' in body
    assert f'action="/channels/{channel.pk}/keys/0/enable/"' not in body
    assert '<option value="random" selected>At random</option>' in body
    assert_no_key(body, *ALL)


def test_htmx_removes_a_key_and_answers_with_the_list(staff_client: Client) -> None:
    channel = three_keys()
    response = staff_client.post(f"/channels/{channel.pk}/keys/0/remove/", headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<section class="card ch-keys" id="channel-keys"')
    assert "Removed key #0." in body
    assert 'id="channel-key-0"' not in body
    assert_no_key(body, *ALL)
    assert stored_keys(channel) == [K2, K3]


def test_without_javascript_a_key_is_re_enabled_and_the_page_comes_back(
    staff_client: Client,
) -> None:
    channel = three_keys()
    channel_key_disable(channel_id=channel.pk, index=2, reason="quota")
    response = staff_client.post(f"/channels/{channel.pk}/keys/2/enable/", follow=True)
    assert response.redirect_chain == [(f"/channels/{channel.pk}/", 302)]
    assert "Key #2 is back in rotation." in response.content.decode()
    assert key_rows(channel)[2][2] == "enabled"


def test_the_last_key_is_kept_with_a_message(staff_client: Client, channel: Channel) -> None:
    body = staff_client.post(
        f"/channels/{channel.pk}/keys/0/remove/", headers=HTMX
    ).content.decode()
    assert "A channel needs at least one key" in body
    assert len(key_rows(channel)) == 1


@pytest.mark.parametrize("action", ["remove", "enable"])
def test_key_actions_are_post_only_and_staff_only(
    staff_client: Client, plain_client: Client, channel: Channel, action: str
) -> None:
    url = f"/channels/{channel.pk}/keys/0/{action}/"
    assert staff_client.get(url).status_code == 405
    assert plain_client.post(url).status_code == 403
    assert staff_client.post(f"/channels/{channel.pk + 99}/keys/0/{action}/").status_code == 404


def test_the_edit_page_adds_keys(staff_client: Client) -> None:
    channel = three_keys()
    new = "sk-fourth-key-0000000000000000004"
    response = staff_client.post(
        f"/channels/{channel.pk}/", edit_form(channel, add_keys=f"{K1}\n{new}")
    )
    assert response.status_code == 302
    assert stored_keys(channel) == [*ALL, new]  # K1 again: already held, not added twice


def test_a_new_address_on_the_edit_page_replaces_the_keys(staff_client: Client) -> None:
    channel = three_keys()
    response = staff_client.post(
        f"/channels/{channel.pk}/",
        edit_form(channel, base_url="https://other.example.net/v1", add_keys=K3),
    )
    assert response.status_code == 302
    assert stored_keys(channel) == [K3]
    assert [row[0] for row in key_rows(channel)] == [2]


def test_the_key_list_speaks_simplified_chinese(staff_client: Client) -> None:
    channel = three_keys()
    body = staff_client.get(
        f"/channels/{channel.pk}/", headers={"Accept-Language": "zh-hans"}
    ).content.decode()
    assert "添加密钥" in body and "每行一个" in body
    assert '<option value="random" selected>随机</option>' in body
