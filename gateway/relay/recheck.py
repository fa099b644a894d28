"""Rechecks of channels (or one key of a channel) whose upstream answered 401 while relaying.

A 401 can be earned by the client's own request, so it never disables a channel by itself:
it schedules the channel test in the background, and only that test's failure does. A flood
of 401s must not become a flood of tests: at most one check per channel (or key) is in
flight, and at most one starts per channel (or key) per `interval` seconds. For a channel
with several keys only the refused key is tested, and only it is disabled if it fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels_admin import probe

log = logging.getLogger(__name__)

Check = Callable[[int], Awaitable[Any]]
CheckKey = Callable[[int, int], Awaitable[Any]]
# What is rechecked: (channel, key index), the index None for the channel as a whole.
Subject = tuple[int, int | None]


class RefusalRechecks:
    def __init__(
        self,
        *,
        enabled: bool,
        interval: float,
        check: Check | None = None,
        check_key: CheckKey | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.interval = interval
        # The channel test itself (channels_admin/probe.py), unless a test passes its own.
        self._check = check or probe.recheck_refused_channel
        self._check_key = check_key or probe.recheck_refused_key
        self._clock = clock
        self._running: dict[Subject, asyncio.Task[None]] = {}
        self._started_at: dict[Subject, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def note_refused(self, channel_id: int) -> bool:
        """Schedule a recheck of the channel unless one ran lately; True when one starts."""
        return self._schedule((channel_id, None))

    def note_refused_key(self, channel_id: int, index: int) -> bool:
        """Schedule a recheck of one of the channel's keys; True when one starts."""
        return self._schedule((channel_id, index))

    def _schedule(self, subject: Subject) -> bool:
        if not self.enabled or subject in self._running:
            return False
        now = self._clock()
        started = self._started_at.get(subject)
        if started is not None and now - started < self.interval:
            return False
        self._started_at[subject] = now
        self.loop = asyncio.get_running_loop()
        # Kept in _running until done: a task nobody references may be garbage-collected.
        task = self.loop.create_task(self._run(subject))
        self._running[subject] = task
        task.add_done_callback(lambda done: self._forget(subject, done))
        return True

    def _forget(self, subject: Subject, task: asyncio.Task[None]) -> None:
        if self._running.get(subject) is task:
            del self._running[subject]

    async def _run(self, subject: Subject) -> None:
        channel_id, index = subject
        what = f"channel {channel_id}" if index is None else f"key {index} of channel {channel_id}"
        try:
            if index is None:
                result = await self._check(channel_id)
            else:
                result = await self._check_key(channel_id, index)
        except Exception:
            log.exception("could not recheck %s after an upstream 401", what)
            return
        ok = getattr(result, "ok", None)
        if ok is False:
            log.warning("%s failed its recheck after an upstream 401", what)
        elif ok:
            log.info("%s passed its recheck after an upstream 401", what)

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
