"""Full garbage collections at the relay's moments, not in the middle of thousands of streams.

Python runs a full (generation 2) collection once enough objects have outlived the younger
passes. An open stream's objects live for its whole answer, so with thousands open a full
pass walks hundreds of thousands of them and stops every stream meanwhile: `make bench`
saw passes of up to 0.7 s while 5,000 streams opened, and a first-chunk p99 of 850 ms.
Those objects are freed by reference counting when their stream ends (the passes measured
freed none), so the collector is not needed for them. In a served worker, automatic full
passes are made all but impossible, and the relay runs one itself when few streams are open,
or at the latest every `longest_gap` seconds, so cycles that do reach the oldest generation
are still freed. The youngest generation is collected as usual, the middle one more often
and so in shorter passes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Generation-1 passes between automatic full ones: at this many, never in practice.
RARE_FULL = 1_000_000
# Generation-0 passes between generation-1 ones: Python's 10 let a middle pass walk ten
# passes' survivors at once, which with 5,000 streams opening stopped every stream for 3-9 ms
# (`make bench`'s slow streams, timed with gc.callbacks). At 2, each walks a fifth as many:
# pauses under 2 ms, for the same total time.
MIDDLE_EVERY = 2


class FullCollections:
    def __init__(
        self,
        open_streams: Callable[[], int],
        *,
        quiet_streams: int = 32,
        check_seconds: float = 30.0,
        longest_gap: float = 900.0,
    ) -> None:
        self.open_streams = open_streams
        self.quiet_streams = quiet_streams
        self.check_seconds = check_seconds
        self.longest_gap = longest_gap
        self._saved: tuple[int, int, int] | None = None
        self._last = time.monotonic()

    def take_over(self) -> None:
        """Automatic full collections off, shorter middle ones (restored by `give_back`)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(self._saved[0], MIDDLE_EVERY, RARE_FULL)
        self._last = time.monotonic()

    def give_back(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def collect_if_due(self) -> bool:
        """A full collection now if the worker is quiet or the last one is too long ago."""
        now = time.monotonic()
        streams = self.open_streams()
        if streams > self.quiet_streams and now - self._last < self.longest_gap:
            return False
        started = time.perf_counter()
        freed = gc.collect()
        self._last = time.monotonic()
        log.debug(
            "full garbage collection: %.1f ms, %d objects freed, %d streams open",
            1000 * (time.perf_counter() - started),
            freed,
            streams,
        )
        return True

    async def run(self, stop: asyncio.Event) -> None:
        self.take_over()
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.check_seconds)
                except TimeoutError:
                    self.collect_if_due()
        finally:
            self.give_back()
