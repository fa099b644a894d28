"""channel_cool_down (a 429's Retry-After; only ever extends) and channel_disable_model (one
model off one channel), and what gives the models back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import SYSTEM
from channels_admin.models import Channel, ChannelStatus
from channels_admin.probe import run_channel_test
from channels_admin.services import (
    channel_as_dict,
    channel_cool_down,
    channel_disable_model,
    channel_update,
)
from core.state import read_db_version
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream


@pytest.mark.django_db
def test_a_cool_down_is_set_shown_and_only_ever_extended() -> None:
    channel = make_channel()
    now = timezone.now()
    version = read_db_version()
    assert channel_cool_down(channel_id=channel.pk, until=now + timedelta(seconds=30)) is True
    bumped = read_db_version()
    assert bumped > version

    # A shorter Retry-After seen later does not cut the running cool-down short.
    assert channel_cool_down(channel_id=channel.pk, until=now + timedelta(seconds=5)) is False
    assert read_db_version() == bumped
    channel.refresh_from_db()
    assert channel.cooldown_until == now + timedelta(seconds=30)

    assert channel_cool_down(channel_id=channel.pk, until=now + timedelta(seconds=90)) is True
    channel.refresh_from_db()
    assert channel.cooldown_until == now + timedelta(seconds=90)
    assert channel.status == ChannelStatus.ENABLED  # cooling, never disabled
    assert channel_as_dict(channel)["cooldown_until"] == (now + timedelta(seconds=90)).isoformat()
    events = AuditEvent.objects.filter(action="cooled_down")
    assert events.count() == 2
    assert {event.actor for event in events} == {"gateway"}


@pytest.mark.django_db
def test_a_cool_down_that_ended_is_not_shown() -> None:
    channel = make_channel()
    channel_cool_down(channel_id=channel.pk, until=timezone.now() - timedelta(seconds=1))
    channel.refresh_from_db()
    assert channel.cooling_until is None
    assert channel_as_dict(channel)["cooldown_until"] is None


@pytest.mark.django_db
def test_a_model_is_taken_off_one_channel_only() -> None:
    channel = make_channel(models=["gpt-4o", "gpt-4o-mini"])
    other = make_channel(name="Other", models=["gpt-4o"])
    version = read_db_version()
    assert channel_disable_model(
        channel_id=channel.pk, model="gpt-4o", reason="The model `gpt-4o` does not exist"
    )
    bumped = read_db_version()
    assert bumped > version
    # Seen again: nothing new.
    assert not channel_disable_model(channel_id=channel.pk, model="gpt-4o", reason="again")
    assert read_db_version() == bumped

    channel.refresh_from_db()
    other.refresh_from_db()
    assert channel.disabled_models == {"gpt-4o": "The model `gpt-4o` does not exist"}
    assert channel.status == ChannelStatus.ENABLED
    assert other.disabled_models == {}
    assert channel_as_dict(channel)["disabled_models"] == {
        "gpt-4o": "The model `gpt-4o` does not exist"
    }
    event = AuditEvent.objects.get(action="model_disabled")
    assert event.actor == "gateway"
    assert "gpt-4o" in event.detail


@pytest.mark.django_db
def test_re_enabling_by_hand_gives_the_models_back() -> None:
    channel = make_channel(models=["gpt-4o"])
    channel_disable_model(channel_id=channel.pk, model="gpt-4o", reason="gone")
    channel = Channel.objects.get(pk=channel.pk)
    channel_update(channel=channel, changes={"status": "disabled"})
    assert Channel.objects.get(pk=channel.pk).disabled_models == {"gpt-4o": "gone"}
    channel_update(channel=Channel.objects.get(pk=channel.pk), changes={"status": "enabled"})
    assert Channel.objects.get(pk=channel.pk).disabled_models == {}


@pytest.mark.django_db
def test_a_passing_test_gives_the_models_back(upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    channel_disable_model(channel_id=channel.pk, model="text-embedding-3-small", reason="gone")
    version = read_db_version()
    result = async_to_sync(run_channel_test)(Channel.objects.get(pk=channel.pk), actor=SYSTEM)
    assert result.ok
    assert Channel.objects.get(pk=channel.pk).disabled_models == {}
    assert read_db_version() > version


@pytest.mark.django_db
def test_a_failing_test_keeps_the_models_off(upstream: FakeUpstream) -> None:
    channel = make_channel(upstream)
    channel_disable_model(channel_id=channel.pk, model="text-embedding-3-small", reason="gone")
    upstream.fail_with = (503, {"error": {"message": "overloaded"}})
    result = async_to_sync(run_channel_test)(Channel.objects.get(pk=channel.pk), actor=SYSTEM)
    assert not result.ok
    assert Channel.objects.get(pk=channel.pk).disabled_models == {"text-embedding-3-small": "gone"}
