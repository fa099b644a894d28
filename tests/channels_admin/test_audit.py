"""Every channel action in the admin pages leaves an audit event: who, from where, what changed.

The channel key never appears in an event; a key change says only "changed".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from audit.models import AuditEvent
from channels_admin.models import Channel, ChannelKey, ChannelStatus
from channels_admin.probe import recheck_refused_channel
from channels_admin.services import channel_auto_disable, channel_update
from tests.support.channels import add_form, edit_form
from tests.support.factories import CHANNEL_KEY, make_channel
from tests.support.fake_upstream import FakeUpstream
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"
NEW_KEY = "sk-brand-new-key-for-the-audit-test-4321"
FROM = {"REMOTE_ADDR": IP}


def events(action: str | None = None) -> list[AuditEvent]:
    found = AuditEvent.objects.filter(object_type="channel").order_by("id")
    return list(found.filter(action=action) if action else found)


def only(action: str) -> AuditEvent:
    [event] = events(action)
    return event


def assert_by_alice(event: AuditEvent) -> None:
    assert (event.actor_kind, event.actor, event.ip) == ("user", "alice", IP)


def assert_no_key_anywhere(*keys: str) -> None:
    dumped = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    for key in keys:
        assert key not in dumped
        assert key[3:-4] not in dumped
    for stored in ChannelKey.objects.all():
        assert stored.key_encrypted not in dumped


def test_adding_records_created(staff_client: Client) -> None:
    staff_client.post("/channels/add/", add_form(name="New", weight="2"), **FROM)
    channel = Channel.objects.get()
    event = only("created")
    assert_by_alice(event)
    assert (event.object_id, event.object_repr) == (str(channel.pk), "New")
    assert event.changes["name"] == [None, "New"]
    assert event.changes["weight"] == [None, 2]
    assert "key" not in event.changes
    assert_no_key_anywhere(CHANNEL_KEY)


def test_editing_records_the_changed_fields(staff_client: Client, channel: Channel) -> None:
    staff_client.post(
        f"/channels/{channel.pk}/", edit_form(channel, name="Renamed", weight="4"), **FROM
    )
    event = only("changed")
    assert_by_alice(event)
    assert event.changes == {"name": ["Primary", "Renamed"], "weight": [1, 4]}
    assert event.object_repr == "Renamed"


def test_a_new_key_is_recorded_by_its_mask_only(staff_client: Client, channel: Channel) -> None:
    staff_client.post(f"/channels/{channel.pk}/", edit_form(channel, add_keys=NEW_KEY), **FROM)
    assert only("changed").changes == {
        "keys": [["#0 sk-…WXYZ enabled"], ["#0 sk-…WXYZ enabled", "#1 sk-…4321 enabled"]]
    }
    assert_no_key_anywhere(CHANNEL_KEY, NEW_KEY)


def test_the_same_key_typed_again_is_no_change(staff_client: Client, channel: Channel) -> None:
    staff_client.post(f"/channels/{channel.pk}/", edit_form(channel, key=CHANNEL_KEY), **FROM)
    assert events("changed") == []


def test_a_refused_edit_records_nothing(staff_client: Client, channel: Channel) -> None:
    before = len(events())
    staff_client.post(f"/channels/{channel.pk}/", edit_form(channel, weight="-5"), **FROM)
    assert len(events()) == before


def test_disabling_in_the_form_is_also_a_disabled_event(
    staff_client: Client, channel: Channel
) -> None:
    staff_client.post(
        f"/channels/{channel.pk}/", edit_form(channel, status="disabled", priority="3"), **FROM
    )
    assert only("changed").changes == {"priority": [0, 3]}
    disabled = only("disabled")
    assert_by_alice(disabled)
    assert disabled.changes == {"status": ["enabled", "disabled"]}


def test_the_inline_edit_records_changed(staff_client: Client, channel: Channel) -> None:
    staff_client.post(f"/channels/{channel.pk}/inline/", {"weight": "7"}, headers=HTMX, **FROM)
    event = only("changed")
    assert_by_alice(event)
    assert event.changes == {"weight": [1, 7]}


def test_the_status_buttons_record_disabled_and_enabled(
    staff_client: Client, channel: Channel
) -> None:
    url = f"/channels/{channel.pk}/status/"
    staff_client.post(url, {"status": "disabled"}, headers=HTMX, **FROM)
    staff_client.post(url, {"status": "enabled"}, **FROM)
    assert_by_alice(only("disabled"))
    enabled = only("enabled")
    assert_by_alice(enabled)
    assert enabled.changes == {"status": ["disabled", "enabled"]}


def test_deleting_records_deleted(staff_client: Client, channel: Channel) -> None:
    pk = channel.pk
    staff_client.post(f"/channels/{pk}/delete/", **FROM)
    event = only("deleted")
    assert_by_alice(event)
    assert (event.object_id, event.object_repr) == (str(pk), "Primary")
    assert not Channel.objects.exists()


def test_copying_records_copied_on_the_copy(staff_client: Client, channel: Channel) -> None:
    staff_client.post(f"/channels/{channel.pk}/copy/", **FROM)
    copy = Channel.objects.exclude(pk=channel.pk).get()
    event = only("copied")
    assert_by_alice(event)
    assert (event.object_id, event.object_repr) == (str(copy.pk), "Primary (copy)")
    assert f"channel {channel.pk}" in event.detail
    assert_no_key_anywhere(CHANNEL_KEY)


def test_a_passing_test_records_tested(
    staff_client: Client, live_channel: Channel, upstream: FakeUpstream
) -> None:
    staff_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX, **FROM)
    event = only("tested")
    assert_by_alice(event)
    assert event.detail.startswith("Passed in ")
    assert_no_key_anywhere(upstream.api_key)


def test_a_failing_test_records_the_scrubbed_error(
    staff_client: Client, upstream: FakeUpstream
) -> None:
    channel = make_channel(base_url=upstream.v1, key=CHANNEL_KEY)
    staff_client.post(f"/channels/{channel.pk}/test/", headers=HTMX, **FROM)
    event = only("tested")
    assert event.detail.startswith("Failed: Incorrect API key provided")
    assert upstream.v1 not in event.detail
    assert_no_key_anywhere(CHANNEL_KEY)


def test_a_passing_test_that_re_enables_records_enabled(
    staff_client: Client, live_channel: Channel
) -> None:
    Channel.objects.filter(pk=live_channel.pk).update(status=ChannelStatus.AUTO_DISABLED)
    staff_client.post(f"/channels/{live_channel.pk}/test/", headers=HTMX, **FROM)
    enabled = only("enabled")
    assert_by_alice(enabled)
    assert enabled.changes == {"status": ["auto_disabled", "enabled"]}


@pytest.mark.parametrize("htmx", [True, False])
def test_test_all_records_one_run_and_each_test(
    staff_client: Client, live_channel: Channel, htmx: bool
) -> None:
    staff_client.post("/channels/test-all/", headers=HTMX if htmx else {}, **FROM)
    run = only("test_all")
    assert_by_alice(run)
    assert run.detail == "Scope: enabled; 1 channels."
    # With htmx each row posts its own test; without, the server ran them.
    assert len(events("tested")) == (0 if htmx else 1)


def test_auto_disabling_is_recorded_as_the_gateway(channel: Channel) -> None:
    assert channel_auto_disable(channel_id=channel.pk, reason="Upstream refused the key\x00!")
    event = only("auto_disabled")
    assert (event.actor_kind, event.actor, event.ip) == ("system", "gateway", None)
    assert event.object_repr == "Primary"
    assert event.changes == {"status": ["enabled", "auto_disabled"]}
    assert "\x00" not in event.detail
    channel.refresh_from_db()
    assert channel.status_reason == "Upstream refused the key\N{REPLACEMENT CHARACTER}!"


def test_a_second_auto_disable_records_nothing_more(channel: Channel) -> None:
    channel_auto_disable(channel_id=channel.pk, reason="first")
    assert channel_auto_disable(channel_id=channel.pk, reason="second") is False
    assert len(events("auto_disabled")) == 1


def test_the_relay_recheck_records_its_test_as_the_gateway(upstream: FakeUpstream) -> None:
    channel = make_channel(base_url=upstream.v1, key=CHANNEL_KEY)
    async_to_sync(recheck_refused_channel)(channel.pk)
    tested = only("tested")
    assert (tested.actor_kind, tested.actor) == ("system", "gateway")
    assert only("auto_disabled").actor == "gateway"


def test_the_event_is_written_with_the_change_or_not_at_all(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr("channels_admin.services.audit_record", broken)
    with pytest.raises(RuntimeError):
        channel_update(channel=channel, changes={"name": "Renamed"})
    assert Channel.objects.get(pk=channel.pk).name == "Primary"
