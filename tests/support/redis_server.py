"""The real Redis that shared-state tests use (TOLLGATE_TEST_REDIS_URL), its Tollgate keys
removed around each test; a test needing it is skipped, loudly, when it cannot be reached."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from channels_admin import breaker
from core import state

REDIS_URL = os.environ.get("TOLLGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def redis_for(settings: Any) -> Iterator[redis.Redis]:
    """Point settings.REDIS_URL at the test Redis, without Tollgate's keys before and after."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"REDIS NOT REACHABLE at {REDIS_URL} ({exc}): shared-state tests NOT RUN")
    _forget(client)
    settings.REDIS_URL = REDIS_URL
    state._sync_redis.cache_clear()
    breaker.redis_client.cache_clear()
    try:
        yield client
    finally:
        _forget(client)
        state._sync_redis.cache_clear()
        breaker.redis_client.cache_clear()
        client.close()


def _forget(client: redis.Redis) -> None:
    keys = list(client.scan_iter(match="tollgate:*"))
    if keys:
        client.delete(*keys)
