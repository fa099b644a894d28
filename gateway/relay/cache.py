"""The relay's in-memory copy of channels and tokens, and when it is refreshed.

Steady state costs no database work per request: the routing table and token records live in
memory; at most every `refresh_seconds` one process-wide check reads the relay-state version
(Redis or one row), and only a changed version reloads the table and forgets known tokens.
The pieces: table.py loads the table, version.py reads the version, token_check.py checks
keys.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from gateway.relay import table as table_loader
from gateway.relay import version
from gateway.relay.db import db_call
from gateway.relay.routing import EMPTY_TABLE, RoutingTable
from gateway.relay.token_check import TokenKeys
from usage.pricing import EMPTY_PRICE_BOOK, PriceBook, load_price_book

log = logging.getLogger(__name__)

# A version check may miss a change if Redis drops a publish; this bounds how long.
FULL_RELOAD_SECONDS = 60.0


def _load_table_and_prices() -> tuple[tuple[int, RoutingTable], PriceBook]:
    # Prices change with the same version bump; read after the table, so never older.
    return table_loader.load_routing_table(), load_price_book()


class RelayCache:
    def __init__(
        self,
        *,
        refresh_seconds: float = 0.5,
        # Where the version is read: Redis when configured, else the database.
        read_version: Callable[[], Awaitable[int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        # At most one forced check per this many seconds after a miss (see recheck_after_miss).
        miss_recheck_seconds: float = 0.25,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.miss_recheck_seconds = miss_recheck_seconds
        self._miss_task: asyncio.Future[bool] | None = None
        self._miss_started = float("-inf")
        self.read_version = read_version
        self.clock = clock
        self.table: RoutingTable = EMPTY_TABLE
        self.prices: PriceBook = EMPTY_PRICE_BOOK
        self.tokens = TokenKeys()
        self._version: int | None = None
        self._source_version: int | None = None
        self._next_check = 0.0
        self._next_full_reload = 0.0
        self._lock: asyncio.Lock | None = None
        self._refresher: asyncio.Future[None] | None = None

    async def ensure_fresh(self) -> None:
        now = self.clock()
        if now < self._next_check:
            return
        if self._version is None or self.refresh_seconds <= 0:
            await self._refresh()  # nothing loaded yet (or checks asked for on every request)
            return
        # A table is loaded: the checks run on a timer of their own, so a request neither
        # waits for one nor starts one as it arrives. Started by the request, the check's hop
        # to the database thread (and the GIL it takes there) landed on the first chunk of
        # nearly every stream paced slower than the interval: +1 to +2 ms.
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.ensure_future(self._refresh_on_time())

    async def _refresh_on_time(self) -> None:
        while True:
            await self._refresh()
            await asyncio.sleep(self.refresh_seconds)

    async def _refresh(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._lock.locked() and self._version is not None:
            return  # another request is checking; this one may use the current table
        async with self._lock:
            if self.clock() < self._next_check:
                return
            try:
                await self._check()
            except Exception:
                if self._version is None:
                    raise  # nothing loaded yet: there is no table to serve from
                # Keep relaying on the last good table rather than drop every request while
                # the database is away; try again after the usual interval.
                log.exception("could not refresh channels and tokens; serving the last ones")
                self._next_check = self.clock() + max(self.refresh_seconds, 1.0)

    async def check_now(self) -> None:
        """Read the version (and reload if it moved) now; raises if that fails."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self._check()

    async def recheck_after_miss(self) -> bool:
        """After an unknown key or model: check for admin changes now; True if the table moved.

        So a channel or token created through the API works on the very next request, on every
        process. The check must start after the miss (one already running may have read too
        early). Misses share checks, and checks start at most once per
        `miss_recheck_seconds`, so a flood of bad keys is a few queries a second, not a flood:
        a miss waits at most that long for its check.
        """
        asked = self.clock()
        while True:
            task = self._miss_task
            if task is not None and self._miss_started >= asked:
                return await asyncio.shield(task)
            if task is not None and not task.done():
                await asyncio.wait({task})
                continue
            wait = self._miss_started + self.miss_recheck_seconds - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
                if self._miss_task is not task:
                    continue  # another miss started one meanwhile
            self._miss_started = self.clock()
            self._miss_task = asyncio.ensure_future(self._check_after_miss())

    async def _check_after_miss(self) -> bool:
        table, version_before = self.table, self._version
        try:
            await self.check_now()
        except Exception:
            log.exception("could not re-check channels and tokens after a miss")
            return False
        return self.table is not table or self._version != version_before

    async def _check(self) -> None:
        now = self.clock()
        source_version = await self._read_source_version()
        if (
            self._version is None
            or source_version != self._source_version
            or now >= self._next_full_reload
        ):
            # One call, assigned together: no request sees a new table beside old prices.
            (self._version, self.table), self.prices = await db_call(_load_table_and_prices)
            self.tokens.forget()
            self._next_full_reload = now + FULL_RELOAD_SECONDS
        self._source_version = source_version
        self._next_check = self.clock() + self.refresh_seconds

    async def _read_source_version(self) -> int:
        if self.read_version is not None:
            try:
                return await self.read_version()
            except Exception:
                log.exception("could not read the relay version from Redis; using the database")
        return await version.version_from_database()

    async def aclose(self) -> None:
        if self._refresher is not None and not self._refresher.done():
            self._refresher.cancel()
            await asyncio.wait({self._refresher})
        if isinstance(self.read_version, version.RedisVersionReader):
            await self.read_version.aclose()
