"""The channel test with many keys: each enabled key is tested, a refused one is disabled
alone, and the relay's recheck of one refused key."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from audit.models import AuditEvent
from channels_admin.models import Channel, ChannelKey
from channels_admin.probe import recheck_refused_channel, recheck_refused_key, run_channel_test
from channels_admin.services import channel_key_disable
from tests.support.audit import ALICE
from tests.support.channels import key_rows
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db

BAD = "sk-refused-key-000000000000000000bad"
OTHER_BAD = "sk-refused-key-000000000000000000oth"


def keyed(upstream: FakeUpstream, *keys: str) -> Channel:
    return make_channel(upstream, key="", keys=list(keys))


def sent_keys(upstream: FakeUpstream) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in upstream.requests]


def test_each_enabled_key_is_tested_and_a_refused_one_disabled_alone(
    upstream: FakeUpstream,
) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)

    assert result.ok is True and result.error is None
    assert sorted(sent_keys(upstream)) == sorted([upstream.api_key, BAD])
    [good, bad] = result.keys
    assert (good.index, good.ok, good.disabled) == (0, True, False)
    assert (bad.index, bad.ok, bad.disabled) == (1, False, True)
    assert bad.mask == "sk-…0bad" and bad.error is not None
    assert BAD not in str(result.as_dict())
    rows = key_rows(channel)
    assert rows[0][2] == "enabled"
    assert rows[1][2] == "disabled"
    assert rows[1][3].startswith("The channel test failed with this key: Incorrect API key")
    assert BAD not in rows[1][3]
    channel.refresh_from_db()
    assert (channel.status, channel.last_test_ok) == ("enabled", True)


def test_a_disabled_key_is_not_tested_again(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    channel_key_disable(channel_id=channel.pk, index=1, reason="earlier")
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert [key.index for key in result.keys] == [0]
    assert sent_keys(upstream) == [upstream.api_key]


def test_every_key_refused_fails_and_disables_the_channel(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, BAD, OTHER_BAD)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error is not None
    assert result.error.startswith("Every key failed; key #0 (sk-…0bad): Incorrect API key")
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"
    assert channel.status_reason.startswith("every key was refused")
    assert BAD not in channel.status_reason + channel.last_test_error


def test_a_failure_that_is_not_the_keys_fault_disables_no_key() -> None:
    with running_upstream(fail_with=(500, {"error": {"message": "boom"}})) as upstream:
        channel = keyed(upstream, upstream.api_key)
        result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert [row[2] for row in key_rows(channel)] == ["enabled"]
    channel.refresh_from_db()
    assert channel.status == "enabled"


def test_a_quota_429_disables_the_key() -> None:
    quota = (
        429,
        {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}},
    )
    with running_upstream(fail_with=quota) as upstream:
        channel = keyed(upstream, upstream.api_key, BAD)
        async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert [row[2] for row in key_rows(channel)] == ["disabled", "disabled"]


def test_a_rate_limit_429_disables_no_key() -> None:
    limited = (429, {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}})
    with running_upstream(fail_with=limited) as upstream:
        channel = keyed(upstream, upstream.api_key)
        async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert key_rows(channel)[0][2] == "enabled"


def test_a_channel_with_no_enabled_key_tests_them_all_and_comes_back(
    upstream: FakeUpstream,
) -> None:
    channel = keyed(upstream, BAD, upstream.api_key)
    channel_key_disable(channel_id=channel.pk, index=0, reason="401")
    channel_key_disable(channel_id=channel.pk, index=1, reason="quota, since refilled")
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"

    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is True
    assert [row[2] for row in key_rows(channel)] == ["disabled", "enabled"]
    channel.refresh_from_db()
    assert channel.status == "enabled"


def test_the_test_button_lists_each_key(staff_client: Client, upstream: FakeUpstream) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    body = staff_client.post(
        f"/channels/{channel.pk}/test/", {"fragment": "result"}, headers=HTMX
    ).content.decode()
    assert "Key #0 (sk-…cdef): OK in" in body
    assert "Key #1 (sk-…0bad): Incorrect API key provided" in body
    assert "— disabled" in body
    assert BAD not in body and upstream.api_key not in body


def test_the_api_test_answers_per_key(api: Client, upstream: FakeUpstream) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    response = api.post(f"/api/channels/{channel.pk}/test")
    body = response.json()
    assert body["ok"] is True
    assert [(k["index"], k["ok"], k["disabled"]) for k in body["keys"]] == [
        (0, True, False),
        (1, False, True),
    ]
    assert BAD.encode() not in response.content
    assert upstream.api_key.encode() not in response.content


# --- the relay's rechecks ----------------------------------------------------------------


def test_recheck_of_a_working_key_changes_nothing(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    result = async_to_sync(recheck_refused_key)(channel.pk, 0)
    assert result is not None and result.ok
    assert [key.index for key in result.keys] == [0]
    assert sent_keys(upstream) == [upstream.api_key]
    assert [row[2] for row in key_rows(channel)] == ["enabled", "enabled"]
    # Not the channel's test: nothing recorded on it.
    channel.refresh_from_db()
    assert channel.last_test_at is None


def test_recheck_of_a_refused_key_disables_it_alone(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, upstream.api_key, BAD)
    result = async_to_sync(recheck_refused_key)(channel.pk, 1)
    assert result is not None and not result.ok and result.keys[0].disabled
    assert sent_keys(upstream) == [BAD]
    rows = key_rows(channel)
    assert [row[2] for row in rows] == ["enabled", "disabled"]
    assert rows[1][3].startswith("The upstream refused a request and the key's test failed")
    assert AuditEvent.objects.filter(action="key_disabled").count() == 1


def test_recheck_of_the_last_key_disables_the_channel(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, BAD)
    async_to_sync(recheck_refused_key)(channel.pk, 0)
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"


@pytest.mark.parametrize("case", ["gone", "disabled key", "disabled channel", "no index"])
def test_recheck_has_nothing_to_decide(upstream: FakeUpstream, case: str) -> None:
    channel = keyed(upstream, BAD, OTHER_BAD)
    index, channel_id = 0, channel.pk
    if case == "gone":
        channel_id = channel.pk + 99
    elif case == "disabled key":
        ChannelKey.objects.filter(channel=channel, index=0).update(status="disabled")
    elif case == "disabled channel":
        Channel.objects.filter(pk=channel.pk).update(status="disabled")
    else:
        index = 7
    assert async_to_sync(recheck_refused_key)(channel_id, index) is None
    assert upstream.requests == []


def test_recheck_of_the_channel_still_works(upstream: FakeUpstream) -> None:
    channel = keyed(upstream, BAD)
    result = async_to_sync(recheck_refused_channel)(channel.pk)
    assert result is not None and not result.ok
    channel.refresh_from_db()
    assert channel.status == "auto_disabled"
