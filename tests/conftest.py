"""What every test shares: a clean slate, the named personas and the common objects.

Personas (as healthchecks' base test case has them):
- alice: an administrator (is_staff), signed in as `staff_client` (`csrf_client` checks CSRF);
- bob: a signed-in user who is not an administrator, as `plain_client`;
- carol: a second administrator;
- an anonymous visitor: pytest-django's `client`, or a fresh `Client()`.
Objects: `channel` (the plain one), `full_channel` (every field set), `live_channel` (at the
fake upstream), `admin_key` and `api` (a client sending it). Factories for anything else live
in tests/support/factories.py.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connections
from django.test import Client

from audit.models import AuditEvent
from channels_admin.models import Channel
from gateway.relay.db import close_background_connections
from tests.support.factories import make_admin_key, make_channel, make_user
from tests.support.fake_upstream import FakeUpstream, running_upstream


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A database server's test database is named for this test process.

    Under the default name (`test_postgres`), a second run against the same server, from
    another checkout say, found the first one's database in use, could not drop it, and every
    one of its tests failed at setup. SQLite's test file is per process already (settings).
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        if database["ENGINE"] != "django.db.backends.sqlite3" and not test.get("NAME"):
            test["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _clean_slate(settings: Any) -> Iterator[None]:
    """Each test starts from the defaults, whatever the environment or .env says, with an
    empty cache (login throttling counts there)."""
    settings.LANGUAGE_CODE = "en"
    settings.PUBLIC_BASE_URL = ""
    settings.REQUIRE_2FA = False
    # Retention would delete the records tests date in the past whenever a server starts;
    # the tests of retention turn it on themselves.
    settings.USAGE_RETENTION_DAYS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _close_relay_thread_connections() -> Iterator[None]:
    """Close what the relay's loader thread opened, or PostgreSQL cannot drop the test DB."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())
    close_background_connections()


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A real fake OpenAI upstream on a free loopback port."""
    with running_upstream() as fake:
        yield fake


# --- personas ------------------------------------------------------------------------------


@pytest.fixture
def alice(db: None) -> Any:
    """An administrator (staff, not superuser: staff is all the panel asks for)."""
    return make_user("alice", staff=True)


@pytest.fixture
def bob(db: None) -> Any:
    """A user who may sign in to nothing here: not staff."""
    return make_user("bob", staff=False)


@pytest.fixture
def carol(db: None) -> Any:
    """A second administrator."""
    return make_user("carol", staff=True)


def _signed_in(user: Any, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(alice: Any) -> Client:
    """alice, signed in (by password alone: she has no second factor)."""
    return _signed_in(alice)


@pytest.fixture
def csrf_client(alice: Any) -> Client:
    """alice, signed in, with CSRF checks on as in a browser (and no token sent)."""
    return _signed_in(alice, enforce_csrf_checks=True)


@pytest.fixture
def plain_client(bob: Any) -> Client:
    """bob, signed in: not an administrator."""
    return _signed_in(bob)


# --- objects -------------------------------------------------------------------------------


@pytest.fixture
def channel(db: None) -> Channel:
    """A channel as the factory makes it: "Primary", one model, the defaults for the rest."""
    return make_channel()


@pytest.fixture
def full_channel(db: None) -> Channel:
    """A channel with every field set away from its default."""
    return make_channel(
        models=["gpt-4o-mini", "gpt-4o"],
        groups=["default", "vip"],
        weight=3,
        priority=5,
        model_mapping={"fast": "gpt-4o-mini", "smart": "gpt-4o"},
        test_model="gpt-4o",
    )


@pytest.fixture
def live_channel(db: None, upstream: FakeUpstream) -> Channel:
    """A channel at the fake upstream, with the right key: its test passes."""
    return make_channel(upstream, name="Live", models=["gpt-4o-mini"])


@pytest.fixture
def admin_key(db: None) -> str:
    """A working admin API key named "tests"."""
    return make_admin_key().key


@pytest.fixture
def api(admin_key: str) -> Client:
    """Sends a valid admin key; enforces CSRF checks, so passing tests prove the API is exempt.

    The audit log starts empty: creating the key is itself an event, and no test's.
    """
    AuditEvent.objects.all().delete()
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {admin_key}"})
