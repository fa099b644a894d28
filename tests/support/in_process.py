"""The relay driven in the test's own thread, so the test can count its database queries.

Under `run_here`, every `sync_to_async` call the relay makes (its database reads) runs in
the calling test's thread, on the test's connection: `counted_queries` (Django's
CaptureQueriesContext) then sees each of them. A relay behind a real server thread reads on
another thread's connection, which no query counter of the test's can see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx2
from asgiref.sync import async_to_sync, sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from openai import AsyncOpenAI

from core.http_clients import close_clients

T = TypeVar("T")


def run_here(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run `scenario` on one new event loop; its database work runs in this thread."""

    async def whole() -> T:
        try:
            return await scenario()
        finally:
            await close_clients()

    return async_to_sync(whole)()


@asynccontextmanager
async def counted_queries() -> AsyncIterator[CaptureQueriesContext]:
    """The queries run in the test's thread meanwhile; `len()` of it counts them."""
    # Made, entered and left in the database thread, on that thread's own connection object
    # (not the `connection` proxy, which would pick whichever thread reads the count).
    context = await sync_to_async(_capture)()
    await sync_to_async(context.__enter__)()
    try:
        yield context
    finally:
        await sync_to_async(context.__exit__)(None, None, None)


@asynccontextmanager
async def openai_client(app: Any, key: str) -> AsyncIterator[AsyncOpenAI]:
    """The official SDK, sending straight into the ASGI `app` (no socket, no server thread)."""
    # httpx2: the HTTP library this openai release is built on.
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport) as http:
        yield AsyncOpenAI(
            base_url="http://gateway.test/v1", api_key=key, max_retries=0, http_client=http
        )


def _capture() -> CaptureQueriesContext:
    return CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])
