"""The prober: auto-disabled channels re-tested on a backoff and re-enabled once they pass;
a channel disabled by hand never touched; one round at a time; the scheduled test of all.

Each test drives single rounds (`probe_round(now=...)`) with its own clock: no sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from audit.models import AuditEvent
from channels_admin import prober
from channels_admin.models import Channel, ChannelStatus, ProberLock
from channels_admin.prober import acquire_lock, probe_round, release_lock, run_prober
from channels_admin.services import channel_auto_disable
from tests.support.factories import make_channel
from tests.support.fake_upstream import FakeUpstream
from tests.support.redis_server import redis_for

BROKEN = (503, {"error": {"message": "upstream overloaded", "type": "server_error"}})


@pytest.fixture(autouse=True)
def _prober(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.PROBE_INTERVAL = 30.0
    settings.PROBE_MAX_INTERVAL = 100.0
    settings.TEST_ALL_INTERVAL = 0.0


@pytest.fixture(params=["database", "redis"])
def lock_backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    if request.param == "redis":
        with redis_for(settings):
            yield "redis"
    else:
        yield "database"


def round_at(now: datetime, **kwargs: Any) -> prober.ProbeReport:
    return async_to_sync(probe_round)(now=now, **kwargs)


def tripped(channel: Channel) -> Channel:
    """`channel` as the breaker leaves it: auto-disabled, its first probe scheduled."""
    assert channel_auto_disable(channel_id=channel.pk, reason="5 failures within 60s")
    return Channel.objects.get(pk=channel.pk)


def chat_requests(upstream: FakeUpstream) -> int:
    return sum(1 for request in upstream.requests if request.path.endswith("/chat/completions"))


@pytest.mark.django_db
def test_it_re_enables_a_channel_once_its_upstream_heals(upstream: FakeUpstream) -> None:
    upstream.fail_with = BROKEN
    channel = tripped(make_channel(upstream))
    disabled_at = channel.status_changed_at
    assert disabled_at is not None
    assert channel.next_probe_at == disabled_at + timedelta(seconds=30)

    # Not due before PROBE_INTERVAL has passed: no request at all.
    assert round_at(disabled_at + timedelta(seconds=29)).lines() == ["Nothing due."]
    assert chat_requests(upstream) == 0

    # Due, still broken: stays down, probed again twice as late.
    first = disabled_at + timedelta(seconds=30)
    report = round_at(first)
    assert chat_requests(upstream) == 1
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.AUTO_DISABLED
    assert channel.probe_failures == 1
    assert channel.next_probe_at == first + timedelta(seconds=60)
    assert "failed" in report.lines()[0]

    # Healed: the next due round brings it back, and says why.
    upstream.fail_with = None
    report = round_at(first + timedelta(seconds=60))
    assert report.enabled == [channel.name]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ENABLED
    assert channel.status_reason == ""
    assert channel.probe_failures == 0
    assert channel.next_probe_at is None
    event = AuditEvent.objects.filter(action="enabled").get()
    assert (event.actor, event.detail) == ("gateway", "probe passed")


@pytest.mark.django_db
def test_it_backs_off_doubling_up_to_the_cap(upstream: FakeUpstream) -> None:
    upstream.fail_with = BROKEN
    channel = tripped(make_channel(upstream))
    delays = []
    for _ in range(4):
        now = channel.next_probe_at
        assert now is not None
        round_at(now)
        channel.refresh_from_db()
        assert channel.next_probe_at is not None
        delays.append((channel.next_probe_at - now).total_seconds())
    assert delays == [60.0, 100.0, 100.0, 100.0]
    assert chat_requests(upstream) == 4


@pytest.mark.django_db
def test_a_channel_disabled_by_hand_is_never_probed(upstream: FakeUpstream) -> None:
    channel = make_channel(upstream, status=ChannelStatus.DISABLED)
    report = round_at(timezone.now() + timedelta(days=365))
    assert report.lines() == ["Nothing due."]
    assert chat_requests(upstream) == 0
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.DISABLED


@pytest.mark.django_db
def test_a_pass_does_not_undo_a_manual_disable_made_meanwhile(upstream: FakeUpstream) -> None:
    channel = tripped(make_channel(upstream))
    # The prober loaded the channel as auto-disabled; an admin disables it before the answer.
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISABLED)
    async_to_sync(prober._probe)(channel, timezone.now(), prober.ProbeReport())
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.DISABLED


@pytest.mark.django_db
def test_only_one_prober_runs_when_two_try(upstream: FakeUpstream, lock_backend: str) -> None:
    channel = tripped(make_channel(upstream))
    assert channel.next_probe_at is not None
    assert acquire_lock("other-process")
    try:
        report = round_at(channel.next_probe_at, holder="this-process")
        assert report.ran is False
        assert report.lines() == ["Another prober is running; nothing done."]
        assert chat_requests(upstream) == 0
    finally:
        release_lock("other-process")

    async def both() -> list[prober.ProbeReport]:
        return list(
            await asyncio.gather(
                probe_round(now=channel.next_probe_at, holder="a"),
                probe_round(now=channel.next_probe_at, holder="b"),
            )
        )

    reports = async_to_sync(both)()
    assert sorted(report.ran for report in reports) == [False, True]
    assert chat_requests(upstream) == 1
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ENABLED


@pytest.mark.django_db
def test_a_round_with_nothing_due_takes_no_lock(upstream: FakeUpstream) -> None:
    healthy = make_channel(upstream)
    later = tripped(make_channel(upstream, name="tripped"))
    assert later.next_probe_at is not None
    report = round_at(later.next_probe_at - timedelta(seconds=1))
    assert report.ran is True
    assert report.lines() == ["Nothing due."]
    # No lock row written, no probe sent, nothing changed.
    assert not ProberLock.objects.exists()
    assert chat_requests(upstream) == 0
    assert Channel.objects.get(pk=healthy.pk).status == ChannelStatus.ENABLED
    assert Channel.objects.get(pk=later.pk).status == ChannelStatus.AUTO_DISABLED

    round_at(later.next_probe_at)
    assert ProberLock.objects.exists()  # with a probe due, the round took the lock
    assert chat_requests(upstream) == 1


@pytest.mark.django_db
def test_the_lock_is_renewed_by_its_holder_and_refused_to_others(lock_backend: str) -> None:
    assert acquire_lock("a")
    assert acquire_lock("a")  # renewing
    assert not acquire_lock("b")
    release_lock("b")  # not b's to release
    assert not acquire_lock("b")
    release_lock("a")
    assert acquire_lock("b")
    release_lock("b")


@pytest.mark.django_db
def test_a_database_lock_left_by_a_dead_prober_expires() -> None:
    assert acquire_lock("dead")
    ProberLock.objects.filter(name=prober.LOCK_NAME).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert acquire_lock("alive")


@pytest.mark.django_db
def test_the_scheduled_test_covers_enabled_channels_not_tested_lately(
    upstream: FakeUpstream, settings: Any
) -> None:
    settings.TEST_ALL_INTERVAL = 3600.0
    now = timezone.now()
    stale = make_channel(upstream, name="Stale")
    fresh = make_channel(upstream, name="Fresh")
    Channel.objects.filter(pk=fresh.pk).update(last_test_at=now - timedelta(seconds=60))
    make_channel(upstream, name="Off", status=ChannelStatus.DISABLED)

    report = round_at(now)
    assert report.tested == [("Stale", True, "")]
    assert Channel.objects.get(pk=stale.pk).last_test_ok is True

    # A failing scheduled test takes the channel out until the prober sees it pass.
    upstream.fail_with = BROKEN
    report = round_at(now + timedelta(seconds=3601))
    assert sorted(name for name, _ok, _error in report.tested) == ["Fresh", "Stale"]
    for channel in (stale, fresh):
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.AUTO_DISABLED
        assert channel.status_reason.startswith("The scheduled channel test failed")


@pytest.mark.django_db
def test_no_scheduled_test_when_it_is_off(upstream: FakeUpstream) -> None:
    make_channel(upstream)
    assert round_at(timezone.now() + timedelta(days=1)).lines() == ["Nothing due."]
    assert chat_requests(upstream) == 0


@pytest.mark.django_db
def test_the_command_runs_one_round_and_says_what_it_did(upstream: FakeUpstream) -> None:
    channel = tripped(make_channel(upstream))
    Channel.objects.filter(pk=channel.pk).update(next_probe_at=timezone.now())
    out = StringIO()
    call_command("probe_channels", stdout=out)
    assert out.getvalue() == f"Probed “{channel.name}”: passed; back in rotation.\n"
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ENABLED

    out = StringIO()
    call_command("probe_channels", stdout=out)
    assert out.getvalue() == "Nothing due.\n"


@pytest.mark.django_db
def test_run_prober_runs_rounds_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = asyncio.Event()
    holders: list[str | None] = []

    async def one_round(**kwargs: Any) -> prober.ProbeReport:
        holders.append(kwargs.get("holder"))
        if len(holders) == 3:
            stop.set()
        return prober.ProbeReport()

    monkeypatch.setattr(prober, "probe_round", one_round)
    monkeypatch.setattr(prober, "_tick_seconds", lambda: 0.0)
    async_to_sync(run_prober)(stop)
    assert len(holders) == 3
    assert len(set(holders)) == 1  # one prober, one lock holder name


def test_the_prober_is_not_started_with_stop_already_set() -> None:
    stop = asyncio.Event()
    stop.set()
    asyncio.run(asyncio.wait_for(run_prober(stop), timeout=5))


@pytest.mark.django_db(transaction=True)
def test_racing_processes_get_the_lock_once(lock_backend: str) -> None:
    if lock_backend == "database" and connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (DATABASE_URL): NOT RUN on SQLite")
    start = threading.Barrier(8)
    won: list[str] = []

    def contender(name: str) -> None:
        try:
            start.wait()
            if acquire_lock(name):
                won.append(name)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contender, args=(f"p{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
