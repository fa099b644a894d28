from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.support.fake_upstream import FakeUpstream, running_upstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A real fake OpenAI upstream on a free loopback port."""
    with running_upstream() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _close_relay_thread_connections() -> Iterator[None]:
    """Close what the relay's loader thread opened, or PostgreSQL cannot drop the test DB."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())
