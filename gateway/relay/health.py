"""What the relay tells the channel app about failing channels, off the hot path.

Each note is a database (or Redis) write in channels_admin.services, run in a background
task after the client has its answer; the request never waits for it. Notes are coalesced
per channel: failures that arrive while one write is in flight are counted and written
after it (at most `breaker_failures` of them: more could not trip the breaker any harder).
A 429's cool-down also applies in this process at once, before the write lands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from gateway.relay.db import db_call
from gateway.relay.routing import Route

log = logging.getLogger(__name__)


class ChannelHealth:
    def __init__(
        self,
        *,
        enabled: bool = True,
        breaker_failures: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = enabled
        self.breaker_failures = breaker_failures
        self.clock = clock
        # channel id -> epoch seconds: cool-downs this process knows before its table does.
        self._cooling: dict[int, float] = {}
        self._written_cooldown: dict[int, float] = {}
        self._pending_failures: dict[int, tuple[int, str]] = {}
        # (channel, model) removals being written now, so a burst of 404s writes once.
        self._disabled_models: set[tuple[int, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def is_cooling(self, route: Route) -> bool:
        until = route.cooldown_until
        local = self._cooling.get(route.channel_id)
        if local is not None and local > until:
            until = local
        return until > 0.0 and self.clock() < until

    def note_failure(self, channel_id: int, reason: str) -> None:
        """One failure for the channel's breaker (a sanitised reason)."""
        if not self.enabled:
            return
        pending = self._pending_failures.get(channel_id)
        if pending is not None:
            count = min(pending[0] + 1, self.breaker_failures)
            self._pending_failures[channel_id] = (count, reason)
            return
        self._pending_failures[channel_id] = (1, reason)
        self._spawn(self._write_failures(channel_id))

    def cool_down(self, channel_id: int, seconds: float) -> None:
        until = self.clock() + seconds
        if until <= self._cooling.get(channel_id, 0.0):
            return
        self._cooling[channel_id] = until
        # Only a cool-down that moves by a second or more is worth another write.
        if until < self._written_cooldown.get(channel_id, 0.0) + 1.0:
            return
        self._written_cooldown[channel_id] = until
        self._spawn(self._write(_cool_down, channel_id, until))

    def disable_model(self, channel_id: int, model: str, reason: str) -> None:
        if not self.enabled or (channel_id, model) in self._disabled_models:
            return
        self._disabled_models.add((channel_id, model))
        self._spawn(self._disable_model_once(channel_id, model, reason))

    async def _disable_model_once(self, channel_id: int, model: str, reason: str) -> None:
        # Deduped only while the write is in flight: once it lands the reloaded table routes
        # around the model, and after a passing test gives it back it may be taken off again.
        try:
            await self._write(_disable_model, channel_id, model, reason)
        finally:
            self._disabled_models.discard((channel_id, model))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.loop = asyncio.get_running_loop()
        # Kept until done: a task nobody references may be garbage-collected.
        task = self.loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_failures(self, channel_id: int) -> None:
        try:
            while True:
                count, reason = self._pending_failures[channel_id]
                self._pending_failures[channel_id] = (0, reason)
                for _ in range(count):
                    await self._write(_note_failure, channel_id, reason)
                if self._pending_failures[channel_id][0] == 0:
                    return
        finally:
            self._pending_failures.pop(channel_id, None)

    async def _write(self, call: Callable[..., Any], *args: Any) -> None:
        try:
            await db_call(call, *args)
        except Exception:
            log.exception("could not record the health of channel %s", args[0])

    async def drain(self) -> None:
        """Wait for every write in flight (at shutdown, and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# The writes themselves, in the ORM's thread. Imported late: the services module is the
# channel app's, and loading it with the relay module would pull in its forms and audit.
def _note_failure(channel_id: int, reason: str) -> None:
    from channels_admin.services import channel_note_failure

    if channel_note_failure(channel_id=channel_id, reason=reason):
        log.warning("channel %s: circuit opened (auto-disabled): %s", channel_id, reason)


def _cool_down(channel_id: int, until: float) -> None:
    from channels_admin.services import channel_cool_down

    channel_cool_down(channel_id=channel_id, until=datetime.fromtimestamp(until, UTC))


def _disable_model(channel_id: int, model: str, reason: str) -> None:
    from channels_admin.services import channel_disable_model

    if channel_disable_model(channel_id=channel_id, model=model, reason=reason):
        log.warning("channel %s: model %s taken off it: %s", channel_id, model, reason)
