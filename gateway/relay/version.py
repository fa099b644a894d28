"""Where the relay reads the relay-state version that tells it an admin changed something.

Services bump the version (core/state.py) after every change the relay must see; the relay
compares it with the one it loaded, from Redis when REDIS_URL is set, else from the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.state import REDIS_VERSION_KEY, read_db_version
from gateway.relay.db import db_call


async def version_from_database() -> int:
    return await db_call(read_db_version)


class RedisVersionReader:
    """Reads the relay version that services publish to Redis after each change."""

    def __init__(self, url: str) -> None:
        self.url = url
        # A client belongs to the event loop it was made on: one per loop, like the httpx one.
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}

    async def __call__(self) -> int:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None:
            client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            entry = self._clients[id(loop)] = (loop, client)
        value = await entry[1].get(REDIS_VERSION_KEY)
        return int(value) if value is not None else 0

    async def aclose(self) -> None:
        entry = self._clients.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].aclose()
