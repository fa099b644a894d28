"""The relay-state version: how gateway processes learn that an admin changed something.

Every write that the relay must see calls `bump_relay_version()` inside its transaction. Each
process compares the version with the one it loaded at most every RELAY_REFRESH_SECONDS:
from Redis when REDIS_URL is set (no database work at all), else from the one-row table.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from core.models import RelayState

log = logging.getLogger(__name__)

REDIS_VERSION_KEY = "tollgate:relay-version"


@cache
def _sync_redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def bump_relay_version() -> None:
    # Relays reload when the number differs from the one they read, so a number must never
    # come back with other data behind it. Counting from 1 again after the row was lost (a
    # flushed or restored database, with Redis or a relay still holding the old count) did:
    # the change stayed hidden until the full reload. The clock in microseconds, or one more
    # than the last when changes come faster, never repeats.
    now = time.time_ns() // 1000
    if not RelayState.objects.filter(pk=1).update(version=Greatest(F("version") + 1, Value(now))):
        RelayState.objects.create(pk=1, version=now)
    if settings.REDIS_URL:
        # After commit: a relay that reloads on the new number must find the new rows.
        transaction.on_commit(_publish_to_redis)


def _publish_to_redis() -> None:
    try:
        _sync_redis().set(REDIS_VERSION_KEY, read_db_version())
    except Exception:
        # Relays still reload on their periodic full refresh; say loudly that they will lag.
        log.exception("could not publish the relay version to Redis; relays lag until refresh")


def read_db_version() -> int:
    return RelayState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
