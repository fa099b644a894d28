"""A deadline for the relay's reads from an upstream, with one lazy timer."""

from __future__ import annotations

import asyncio


class ReadDeadline:
    """asyncio.timeout for reads: each may take `idle` seconds, none may end past `deadline`.

    A timer costs about 2.5 µs to set under uvloop, and rescheduling asyncio's timeout around
    every read of a stream made two timer changes a chunk. Here a read only notes when it
    began (`reading()`; `not_reading()` while the client is sent to, which does not count),
    and the one timer, when it fires, looks whether the read under way is really late, and
    if not sets itself for when it would be. Late, it cancels the task, and leaving the
    block raises TimeoutError.
    """

    __slots__ = ("_deadline", "_handle", "_idle", "_loop", "_since", "_task", "expired")

    def __init__(self, idle: float, deadline: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = idle
        self._deadline = deadline
        self._since: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None
        self.expired = False

    async def __aenter__(self) -> ReadDeadline:
        self._task = asyncio.current_task()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.expired and kind is asyncio.CancelledError:
            assert self._task is not None
            if self._task.uncancel() == 0:  # ours alone: not a shutdown's or a client's
                raise TimeoutError

    def reading(self) -> None:
        now = self._loop.time()
        self._since = now
        if self._handle is None:
            self._handle = self._loop.call_at(min(now + self._idle, self._deadline), self._fire)

    def not_reading(self) -> None:
        self._since = None

    def _fire(self) -> None:
        self._handle = None
        since = self._since
        if since is None or self._task is None:
            return  # sending: the next read sets the timer again
        due = min(since + self._idle, self._deadline)
        if self._loop.time() >= due:
            self.expired = True
            self._task.cancel()
        else:
            self._handle = self._loop.call_at(due, self._fire)
