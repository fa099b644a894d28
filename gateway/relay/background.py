"""The relay's own tasks that run as long as the server: the channel prober, usage retention,
full garbage collections. Each gets an event that asks it to stop; the server's shutdown
sets them and waits for each in turn, so nothing is left half-done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

StopAware = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class BackgroundTasks:
    def __init__(self, stop_timeout: float = 10.0) -> None:
        self.stop_timeout = stop_timeout
        self._running: list[tuple[str, asyncio.Event, asyncio.Task[None]]] = []

    def start(self, name: str, run: StopAware) -> None:
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(run(stop))
        self._running.append((name, stop, task))

    async def stop_all(self) -> None:
        running, self._running = self._running, []
        for _, stop, _ in running:
            stop.set()
        for name, _, task in running:
            try:
                await asyncio.wait_for(task, timeout=self.stop_timeout)
            except Exception:
                log.exception("%s did not stop cleanly", name)
