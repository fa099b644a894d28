"""The per-process upstream HTTP client and the headers that may cross to an upstream."""

from __future__ import annotations

import asyncio

import httpx
from django.conf import settings

# Keyed by loop id; the loop is kept beside its client so a dead loop's id is never reused.
_clients: dict[int, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}


def get_client() -> httpx.AsyncClient:
    """One pooled client per event loop (a worker process has one loop; tests make many)."""
    loop = asyncio.get_running_loop()
    entry = _clients.get(id(loop))
    client = entry[1] if entry is not None else None
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.UPSTREAM_CONNECT_TIMEOUT,
                read=settings.UPSTREAM_READ_TIMEOUT,
                write=60.0,
                pool=settings.UPSTREAM_CONNECT_TIMEOUT,
            ),
            limits=httpx.Limits(
                max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
                max_keepalive_connections=min(100, settings.UPSTREAM_MAX_CONNECTIONS),
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
            trust_env=False,
        )
        _clients[id(loop)] = (loop, client)
    return client


async def close_client() -> None:
    loop = asyncio.get_running_loop()
    entry = _clients.pop(id(loop), None)
    if entry is not None:
        await entry[1].aclose()
