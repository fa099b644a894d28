"""Usage records older than TOLLGATE_USAGE_RETENTION_DAYS are deleted; the aggregates
(UsageHourly, UsageDaily, the channel tables) are kept, so the dashboard still shows them.

Deleted in batches of ids, each its own short statement: a purge of a month of records never
holds a long lock against the relay's writer. `python manage.py purge_usage` runs it once;
the relay's lifespan runs `run_retention` (at start, then every
TOLLGATE_USAGE_RETENTION_INTERVAL seconds). Several processes purging at once only find less
to delete: the work is idempotent, so no lock is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from usage.models import UsageRecord

log = logging.getLogger(__name__)
BATCH_SIZE = 5000


def retention_cutoff(now: dt.datetime | None = None, days: int | None = None) -> dt.datetime | None:
    """Records created before this are due for deletion; None when retention is off (0 days)."""
    days = settings.USAGE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def purge_batch(cutoff: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete up to `batch_size` of the oldest records created before `cutoff`; how many."""
    # The ids first, oldest first along the time index; then one DELETE by primary key.
    ids = list(
        UsageRecord.objects.filter(created_at__lt=cutoff)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    deleted, _ = UsageRecord.objects.filter(id__in=ids).delete()
    return deleted


def purge_expired(
    *, now: dt.datetime | None = None, days: int | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Delete every record older than the retention, batch by batch; how many were deleted."""
    cutoff = retention_cutoff(now, days)
    if cutoff is None:
        return 0
    total = 0
    while True:
        deleted = purge_batch(cutoff, batch_size)
        total += deleted
        if deleted < batch_size:
            return total


async def purge_expired_async(
    *, batch_size: int = BATCH_SIZE, stop: asyncio.Event | None = None
) -> int:
    """`purge_expired` from the event loop: each batch in a worker thread, so the loop (and
    the relay's writer, between batches) carries on; stops early once `stop` is set."""
    cutoff = retention_cutoff()
    if cutoff is None:
        return 0
    total = 0
    while stop is None or not stop.is_set():
        deleted = await sync_to_async(purge_batch)(cutoff, batch_size)
        total += deleted
        if deleted < batch_size:
            break
    return total


async def run_retention(stop: asyncio.Event) -> None:
    """Purge at start, then every TOLLGATE_USAGE_RETENTION_INTERVAL seconds, until `stop` is
    set (the relay's lifespan starts and stops this). Failures are logged, never raised: the
    next round tries again."""
    while not stop.is_set():
        try:
            deleted = await purge_expired_async(stop=stop)
            if deleted:
                log.info(
                    "retention: deleted %d usage records older than %d days",
                    deleted,
                    settings.USAGE_RETENTION_DAYS,
                )
        except Exception:
            log.exception("retention: the purge failed; trying again at the next round")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.USAGE_RETENTION_INTERVAL)
