from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.support.fake_upstream import FakeUpstream, running_upstream


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # The manifest storage needs collectstatic; tests resolve and serve static files from the
    # finders instead (whitenoise reads this when the ASGI app is first imported).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    # Tests log in a lot; the real hasher makes each login slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
