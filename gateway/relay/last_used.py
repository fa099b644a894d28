"""When each token was last used: noted in memory per request, written in batches.

A request only sets a dict entry; the writes happen at most every `flush_seconds`, in the
background, as one UPDATE for all the tokens used since the last one.
"""

from __future__ import annotations

import asyncio
import logging

from django.utils import timezone

from gateway.relay.db import db_call
from tokens.models import Token

log = logging.getLogger(__name__)


def store_last_used(token_ids: list[int]) -> None:
    Token.objects.filter(pk__in=token_ids).update(last_used_at=timezone.now())


class LastUsed:
    def __init__(self, flush_seconds: float) -> None:
        self.flush_seconds = flush_seconds
        self._used: set[int] = set()
        self._next_flush: float | None = None
        self._background: set[asyncio.Task[None]] = set()

    def note(self, token_id: int) -> None:
        self._used.add(token_id)

    def tick(self, now: float) -> None:
        """Called on the relay's refresh ticks: starts a background write when one is due."""
        if self._next_flush is None:
            self._next_flush = now + self.flush_seconds
        elif self._used and now >= self._next_flush:
            used, self._used = self._used, set()
            self._next_flush = now + self.flush_seconds
            task = asyncio.ensure_future(self._store(used))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def flush(self) -> None:
        """Write pending last-used times now (at shutdown, and in tests)."""
        if self._used:
            used, self._used = self._used, set()
            await self._store(used)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _store(self, used: set[int]) -> None:
        try:
            await db_call(store_last_used, list(used))
        except Exception:
            log.exception("could not record when %d tokens were last used", len(used))
