"""The prober: brings auto-disabled channels back once their upstream heals.

Each round re-tests the auto-disabled channels that are due (the first probe PROBE_INTERVAL
seconds after the channel was disabled, then twice as long after each failure, up to
PROBE_MAX_INTERVAL) with the channel's own test model; a pass re-enables the channel, the audit
log saying "probe passed". A channel disabled by hand is never probed. With TEST_ALL_INTERVAL
set, a round also tests every enabled channel not tested for that long, as New API's scheduled
channel test does; a failure there takes the channel out of rotation (when
TOLLGATE_AUTO_DISABLE is on) until the prober sees it pass.

One round runs at a time across every process and instance: the round holds a lock (Redis
SET NX PX when REDIS_URL is set, else a ProberLock row taken by one conditional UPDATE), renewed
while it runs and released at its end; a process that finds it held skips the round.
The relay starts `run_prober` in every process (TOLLGATE_PROBER); `manage.py probe_channels`
runs one round for a cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.services import SYSTEM
from channels_admin import breaker
from channels_admin.models import Channel, ChannelStatus, ProberLock
from channels_admin.probe import ChannelTestResult, run_channel_test
from channels_admin.services import channel_auto_disable, channel_probe_failed

log = logging.getLogger(__name__)

LOCK_NAME = "prober"
REDIS_LOCK_KEY = "tollgate:prober-lock"
# A lock left by a process that died frees itself after this long; a live round renews it
# every third of it.
LOCK_SECONDS = 60.0
# Channel tests in flight at once within a round.
PROBE_CONCURRENCY = 4
# What the audit log's "enabled" event says when a probe brings a channel back.
PROBE_PASSED = "probe passed"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Take the lock if free or already ours, and (re)set its expiry; release only our own.
_ACQUIRE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def new_holder() -> str:
    """A name for one prober: the host, the process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


# --- the lock ------------------------------------------------------------------------------


def acquire_lock(holder: str, seconds: float = LOCK_SECONDS) -> bool:
    """Take (or renew) the prober lock for `holder`; False if another prober holds it."""
    if settings.REDIS_URL:
        client = breaker.redis_client(settings.REDIS_URL)
        ms = max(1, int(seconds * 1000))
        return bool(client.eval(_ACQUIRE_SCRIPT, 1, REDIS_LOCK_KEY, holder, ms))
    now = timezone.now()
    ProberLock.objects.bulk_create(
        [ProberLock(name=LOCK_NAME, holder="", expires_at=_EPOCH)], ignore_conflicts=True
    )
    # One UPDATE decides: of two probers racing, the database lets exactly one match.
    taken = (
        ProberLock.objects.filter(name=LOCK_NAME)
        .filter(Q(expires_at__lte=now) | Q(holder=holder))
        .update(holder=holder, expires_at=now + timedelta(seconds=seconds))
    )
    return taken == 1


def release_lock(holder: str) -> None:
    if settings.REDIS_URL:
        breaker.redis_client(settings.REDIS_URL).eval(_RELEASE_SCRIPT, 1, REDIS_LOCK_KEY, holder)
        return
    ProberLock.objects.filter(name=LOCK_NAME, holder=holder).update(expires_at=_EPOCH)


@contextlib.asynccontextmanager
async def _held(holder: str) -> AsyncIterator[bool]:
    """Hold the lock for the block (True), renewing it; False and no lock if it is taken."""
    if not await sync_to_async(acquire_lock)(holder):
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            if not await sync_to_async(acquire_lock)(holder):
                log.warning("prober: lost the lock while a round ran")

    renewing = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await sync_to_async(release_lock)(holder)


# --- one round -----------------------------------------------------------------------------


@dataclass
class ProbeReport:
    """What one round did, for the log and for `manage.py probe_channels`."""

    ran: bool = True
    enabled: list[str] = field(default_factory=list)
    still_failing: list[tuple[str, datetime | None, str]] = field(default_factory=list)
    tested: list[tuple[str, bool, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.ran:
            return ["Another prober is running; nothing done."]
        lines = [f"Probed “{name}”: passed; back in rotation." for name in self.enabled]
        for name, next_at, error in self.still_failing:
            when = next_at.isoformat() if next_at else "never (no longer auto-disabled)"
            lines.append(f"Probed “{name}”: failed ({error}); next probe {when}.")
        for name, ok, error in self.tested:
            outcome = "passed" if ok else f"failed ({error})"
            lines.append(f"Scheduled test of “{name}”: {outcome}.")
        return lines or ["Nothing due."]


def _probe_is_due(now: datetime) -> Q:
    first_probe_cutoff = now - timedelta(seconds=settings.PROBE_INTERVAL)
    due = Q(next_probe_at__lte=now) | Q(
        # Disabled before the prober kept a schedule: due PROBE_INTERVAL after the change.
        Q(next_probe_at__isnull=True)
        & (Q(status_changed_at__isnull=True) | Q(status_changed_at__lte=first_probe_cutoff))
    )
    return due & Q(status=ChannelStatus.AUTO_DISABLED)


def _scheduled_test_is_due(now: datetime) -> Q | None:
    if settings.TEST_ALL_INTERVAL <= 0:
        return None
    cutoff = now - timedelta(seconds=settings.TEST_ALL_INTERVAL)
    stale = Q(last_test_at__isnull=True) | Q(last_test_at__lte=cutoff)
    return stale & Q(status=ChannelStatus.ENABLED)


def _due(now: datetime) -> tuple[list[Channel], list[Channel]]:
    """The channels due for a probe, and those due for a scheduled test."""
    scheduled = _scheduled_test_is_due(now)
    return (
        list(Channel.objects.filter(_probe_is_due(now)).order_by("pk")),
        [] if scheduled is None else list(Channel.objects.filter(scheduled).order_by("pk")),
    )


def _anything_due(now: datetime) -> bool:
    due = _probe_is_due(now)
    scheduled = _scheduled_test_is_due(now)
    return Channel.objects.filter(due if scheduled is None else due | scheduled).exists()


async def _probe(channel: Channel, now: datetime, report: ProbeReport) -> None:
    result = await run_channel_test(channel, actor=SYSTEM, enabled_detail=PROBE_PASSED)
    if result.ok:
        # The test's record updated `channel`: enabled, unless an admin disabled it meanwhile.
        if channel.status == ChannelStatus.ENABLED:
            report.enabled.append(channel.name)
        return
    next_at = await sync_to_async(channel_probe_failed)(
        channel_id=channel.pk, now=now, error=result.error or ""
    )
    report.still_failing.append((channel.name, next_at, result.error or ""))


async def _scheduled_test(channel: Channel, report: ProbeReport) -> None:
    result: ChannelTestResult = await run_channel_test(channel, actor=SYSTEM)
    report.tested.append((channel.name, result.ok, result.error or ""))
    if not result.ok and settings.RELAY_AUTO_DISABLE:
        await sync_to_async(channel_auto_disable)(
            channel_id=channel.pk, reason=f"The scheduled channel test failed: {result.error}"
        )


async def probe_round(*, now: datetime | None = None, holder: str | None = None) -> ProbeReport:
    """Run one round if no other prober is running one. `now` stands in for the clock when
    choosing what is due and scheduling the next probe (tests pass their own)."""
    now = now or timezone.now()
    # Most rounds find nothing due, and one read tells: the lock (two or three writes, from
    # every worker of every instance at every tick) is taken only when there is work.
    if not await sync_to_async(_anything_due)(now):
        return ProbeReport()
    holder = holder or new_holder()
    async with _held(holder) as held:
        if not held:
            return ProbeReport(ran=False)
        report = ProbeReport()
        # Read again under the lock: another prober may have just done what was due.
        probes, scheduled = await sync_to_async(_due)(now)
        gate = asyncio.Semaphore(PROBE_CONCURRENCY)

        async def bounded(job: Coroutine[Any, Any, None]) -> None:
            async with gate:
                await job

        await asyncio.gather(
            *(bounded(_probe(channel, now, report)) for channel in probes),
            *(bounded(_scheduled_test(channel, report)) for channel in scheduled),
        )
        return report


def _tick_seconds() -> float:
    # Often enough that a channel is probed soon after it is due; each idle tick costs one
    # query (probe_round takes the lock only when something is due).
    return min(max(settings.PROBE_INTERVAL / 4, 1.0), 15.0)


async def run_prober(stop: asyncio.Event) -> None:
    """Run rounds until `stop` is set (the relay's lifespan starts and stops this)."""
    holder = new_holder()
    while not stop.is_set():
        try:
            report = await probe_round(holder=holder)
            if report.ran and (report.enabled or report.still_failing or report.tested):
                for line in report.lines():
                    log.info("prober: %s", line)
        except Exception:
            log.exception("prober: the round failed; trying again at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=_tick_seconds())
