"""The breaker's shared failure count: how many times a channel failed in the current window.

Every gateway process and instance counts into the same place — Redis when REDIS_URL is set
(one atomic script: INCR, and set the expiry with the first failure), else the channel's row
(one conditional UPDATE). The window is fixed, starting at its first failure: BREAKER_FAILURES
failures less than BREAKER_WINDOW seconds after the first one open the circuit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When

from channels_admin.models import Channel, ChannelStatus

log = logging.getLogger(__name__)

REDIS_KEY_PREFIX = "tollgate:breaker:"
# INCR and, for the window's first failure, PEXPIRE, as one step: a crash between the two
# would otherwise leave a count that never expires.
_COUNT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@cache
def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_key(channel_id: int) -> str:
    return f"{REDIS_KEY_PREFIX}{channel_id}"


def count_failure(channel_id: int, now: datetime) -> int:
    """Add one failure to the channel's window and return the window's count (0 when the
    channel is not enabled, in the database count)."""
    if settings.REDIS_URL:
        try:
            window_ms = max(1, int(settings.BREAKER_WINDOW * 1000))
            client = redis_client(settings.REDIS_URL)
            return int(client.eval(_COUNT_SCRIPT, 1, redis_key(channel_id), window_ms))
        except Exception:
            # Counting per database still opens the circuit; say so, the shared count is off.
            log.exception("breaker: Redis unreachable, counting in the database")
    return _count_in_database(channel_id, now)


def _count_in_database(channel_id: int, now: datetime) -> int:
    # One UPDATE first: it takes the row's write lock, so concurrent failures queue on it and
    # each reads back, in the same transaction, the count its own increment made.
    cutoff = now - timedelta(seconds=settings.BREAKER_WINDOW)
    in_window = When(breaker_window_started_at__gt=cutoff, then=F("breaker_failures") + 1)
    with transaction.atomic():
        updated = Channel.objects.filter(pk=channel_id, status=ChannelStatus.ENABLED).update(
            breaker_failures=Case(in_window, default=Value(1)),
            breaker_window_started_at=Case(
                When(breaker_window_started_at__gt=cutoff, then=F("breaker_window_started_at")),
                default=Value(now),
            ),
        )
        if not updated:
            return 0
        count = Channel.objects.filter(pk=channel_id).values_list("breaker_failures", flat=True)
        return int(count.first() or 0)


def reset(channel_id: int) -> None:
    """Start the next window from zero (after the circuit opened or the channel came back)."""
    Channel.objects.filter(pk=channel_id).update(breaker_failures=0, breaker_window_started_at=None)
    if settings.REDIS_URL:
        try:
            redis_client(settings.REDIS_URL).delete(redis_key(channel_id))
        except Exception:
            log.exception("breaker: could not reset the Redis count of channel %s", channel_id)
