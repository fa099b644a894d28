"""The relay's batched writes: usage records and when each token was last used.

The relay only appends to memory (`add`, `note_used`); a timer on the relay's event loop
writes everything pending every `flush_seconds` (so within that time of a response's end),
never on traffic, and stops while there is nothing to write. If the database is away the
records wait in a bounded buffer and are written when it answers again; past
`buffer_limit` new records are dropped, counted in `dropped` and logged, so memory stays
bounded; what a dropped record moves on its token's quota (its reservation, its cost) is kept
apart, summed per token and period, and still written, so no reservation stays held.
`aclose` (at the server's shutdown) writes whatever is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from usage.entries import UsageEntry
from usage.quota import Period, Settlement
from usage.services import settlement

log = logging.getLogger(__name__)

StoreRecords = Callable[[Sequence[UsageEntry]], Awaitable[None]]
StoreLastUsed = Callable[[list[int]], Awaitable[None]]
StoreSettlements = Callable[[Sequence[Settlement]], Awaitable[None]]


class UsageWriter:
    def __init__(
        self,
        *,
        store_records: StoreRecords,
        store_last_used: StoreLastUsed,
        store_settlements: StoreSettlements | None = None,
        on_pending: Callable[[int], None] | None = None,
        flush_seconds: float = 1.0,
        buffer_limit: int = 100_000,
        batch_size: int = 1000,
    ) -> None:
        self._store_records = store_records
        self._store_last_used = store_last_used
        self._store_settlements = store_settlements
        # Told how many records wait after each write (the relay's metrics gauge).
        self.on_pending = on_pending
        # Settlements of dropped records: (token, period) -> one summed Settlement.
        self._orphans: dict[tuple[int, Period], Settlement] = {}
        self.flush_seconds = flush_seconds
        self.buffer_limit = buffer_limit
        self.batch_size = batch_size
        self._records: deque[UsageEntry] = deque()
        self._in_flight = 0  # records taken out for a write that has not ended yet
        self._used: set[int] = set()
        self.dropped = 0  # records refused because the buffer was full, since the start
        self._dropped_logged = 0
        self._failing = False
        self._timer: asyncio.Task[None] | None = None
        self._flushing: asyncio.Future[None] | None = None

    @property
    def pending(self) -> int:
        """Records not written yet (waiting, or in a write under way)."""
        return len(self._records) + self._in_flight

    def add(self, entry: UsageEntry) -> None:
        if self.pending >= self.buffer_limit:
            self.dropped += 1
            self.keep_settlement(entry)
            if self.dropped == self._dropped_logged + 1:
                log.error(
                    "usage buffer full (%d records, TOLLGATE_USAGE_BUFFER): dropping new records "
                    "until the database takes them",
                    self.buffer_limit,
                )
            return
        self._records.append(entry)
        self._ensure_timer()

    def keep_settlement(self, entry: UsageEntry) -> None:
        """Write what the entry moves on its token's quota, without its record."""
        item = settlement(entry)
        if item is None or self._store_settlements is None:
            return
        self._merge_orphan(item)
        self._ensure_timer()

    def _merge_orphan(self, item: Settlement) -> None:
        key = (item.token_id, item.period)
        known = self._orphans.get(key)
        if known is not None:
            item = Settlement(
                token_id=item.token_id,
                reserved=known.reserved + item.reserved,
                cost=known.cost + item.cost,
                period=item.period,
            )
        self._orphans[key] = item

    def note_used(self, token_id: int) -> None:
        if token_id not in self._used:
            self._used.add(token_id)
            self._ensure_timer()

    def _ensure_timer(self) -> None:
        loop = asyncio.get_running_loop()
        timer = self._timer
        if timer is not None and not timer.done() and timer.get_loop() is loop:
            return
        self._timer = loop.create_task(self._run())

    async def _run(self) -> None:
        while self._records or self._used or self._orphans:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()

    async def flush(self) -> None:
        """Write what is pending now (after a write already under way); never raises."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.wait({self._flushing})
        self._flushing = asyncio.ensure_future(self._write_pending())
        # Shielded: a timer cancelled mid-write (at shutdown) must not lose the batch.
        try:
            await asyncio.shield(self._flushing)
        finally:
            if self.on_pending is not None:
                self.on_pending(self.pending)

    async def aclose(self) -> None:
        """Stop the timer and write everything left (the server's graceful shutdown)."""
        timer, self._timer = self._timer, None
        if (
            timer is not None
            and not timer.done()
            and timer.get_loop() is asyncio.get_running_loop()
        ):
            timer.cancel()
            await asyncio.wait({timer})
        await self.flush()
        if self._records:
            log.error("%d usage records could not be written before shutdown", self.pending)

    async def _write_pending(self) -> None:
        await self._write_last_used()
        await self._write_orphans()
        # Only what is pending now: records that arrive during the write wait for the next
        # tick. Draining until empty never ends under steady traffic, and turns the batches
        # into a stream of tiny writes that keeps the database thread busy.
        left = len(self._records)
        while left > 0:
            batch = [self._records.popleft() for _ in range(min(self.batch_size, left))]
            left -= len(batch)
            self._in_flight = len(batch)
            try:
                await self._store_records(batch)
            except Exception:
                self._records.extendleft(reversed(batch))
                if not self._failing:
                    self._failing = True
                    log.exception(
                        "could not write usage records; %d kept in memory until the database "
                        "answers",
                        len(self._records),
                    )
                break
            finally:
                self._in_flight = 0
        else:
            if self._failing:
                self._failing = False
                log.warning("usage records are being written again")
        if self.dropped > self._dropped_logged:
            log.error(
                "%d usage records dropped (buffer full), %d since the start",
                self.dropped - self._dropped_logged,
                self.dropped,
            )
            self._dropped_logged = self.dropped

    async def _write_orphans(self) -> None:
        if not self._orphans or self._store_settlements is None:
            return
        orphans, self._orphans = self._orphans, {}
        try:
            await self._store_settlements(list(orphans.values()))
        except Exception:
            for item in orphans.values():
                self._merge_orphan(item)
            if not self._failing:
                log.exception("could not settle the quotas of %d dropped records", len(orphans))

    async def _write_last_used(self) -> None:
        if not self._used:
            return
        used, self._used = self._used, set()
        try:
            await self._store_last_used(sorted(used))
        except Exception:
            self._used |= used
            if not self._failing:
                log.exception("could not record when %d tokens were last used", len(used))
