"""Rechecks of channels whose upstream answered 401 while relaying.

A 401 can be earned by the client's own request, so it never disables a channel by itself:
it schedules the channel test in the background, and only that test's failure does. A flood
of 401s must not become a flood of tests: at most one check per channel is in flight, and at
most one starts per channel per `interval` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels_admin.probe import recheck_refused_channel

log = logging.getLogger(__name__)

Check = Callable[[int], Awaitable[Any]]


class RefusalRechecks:
    def __init__(
        self,
        *,
        enabled: bool,
        interval: float,
        check: Check | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.interval = interval
        # The channel test itself (channels_admin/probe.py), unless a test passes its own.
        self._check = check or recheck_refused_channel
        self._clock = clock
        self._running: dict[int, asyncio.Task[None]] = {}
        self._started_at: dict[int, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def note_refused(self, channel_id: int) -> bool:
        """Schedule a recheck of the channel unless one ran lately; True when one starts."""
        if not self.enabled or channel_id in self._running:
            return False
        now = self._clock()
        started = self._started_at.get(channel_id)
        if started is not None and now - started < self.interval:
            return False
        self._started_at[channel_id] = now
        self.loop = asyncio.get_running_loop()
        # Kept in _running until done: a task nobody references may be garbage-collected.
        task = self.loop.create_task(self._run(channel_id))
        self._running[channel_id] = task
        task.add_done_callback(lambda done: self._forget(channel_id, done))
        return True

    def _forget(self, channel_id: int, task: asyncio.Task[None]) -> None:
        if self._running.get(channel_id) is task:
            del self._running[channel_id]

    async def _run(self, channel_id: int) -> None:
        try:
            result = await self._check(channel_id)
        except Exception:
            log.exception("could not recheck channel %s after an upstream 401", channel_id)
            return
        ok = getattr(result, "ok", None)
        if ok is False:
            log.warning("channel %s failed its recheck after an upstream 401", channel_id)
        elif ok:
            log.info("channel %s passed its recheck after an upstream 401", channel_id)

    async def drain(self) -> None:
        """Wait for every recheck in flight (at shutdown, and in tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def aclose(self) -> None:
        """At shutdown: a recheck is not worth waiting for; the next 401 starts another."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
