"""Database work from the relay's event loop: in Django's worker thread, on a sound connection.

Batched writes that no request waits for (usage records) run on a thread of their own
(`background_db_call`): on the shared thread, the relay-version check that one request per
refresh interval awaits would queue behind a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, connections

P = ParamSpec("P")
T = TypeVar("T")

_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-background-db")


async def db_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)` in the thread Django's ORM calls run in, off the event loop.

    Callers name the function at each call (no wrapper made at import), so a test can replace
    it in its module to stand in for a database that has gone away.
    """
    return await sync_to_async(_fresh_call)(call, *args, **kwargs)


async def background_db_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`db_call` on the relay's background thread (and its own connection), for writes that
    no request waits for: under load a batch can hold its thread for a long time, and a
    request's own database call must not queue behind it."""
    run = sync_to_async(_fresh_call, thread_sensitive=False, executor=_BACKGROUND)
    return await run(call, *args, **kwargs)


def close_background_connections() -> None:
    """Close the background thread's connections (at shutdown; PostgreSQL counts them)."""
    _BACKGROUND.submit(connections.close_all).result()


def _fresh_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # Never inside a transaction (a test's), which a dropped connection would abort.
    if not connection.in_atomic_block:
        _keep_if_sound()
    return call(*args, **kwargs)


def _keep_if_sound() -> None:
    """Django's check between requests (close_old_connections), without its age limit.

    The relay's two database threads live as long as the process, so their connections are
    kept: with CONN_MAX_AGE=0 (SQLite's) every call reopened one, and the last one closed
    checkpointed the WAL; `make bench` measured that at about 5 % of a worker's CPU under load.
    A connection that saw an error is closed if it no longer answers, and PostgreSQL's
    CONN_HEALTH_CHECKS tests it again before the next query.
    """
    if connection.connection is None:
        return
    if connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
        connection.close()
        return
    if connection.errors_occurred:
        if not connection.is_usable():
            connection.close()
            return
        connection.errors_occurred = False
    connection.health_check_done = False  # type: ignore[attr-defined]
