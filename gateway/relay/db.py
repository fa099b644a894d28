"""Database work from the relay's event loop: on the relay's database thread, on a sound connection.

The relay's own calls (token loads, quota reservations, the version check) run on one
thread of its own, handed over with `loop.run_in_executor`: asgiref's `sync_to_async` did the
same hop with about 60 us more CPU per call (measured: 134-171 us against 76-80 us), which a
token with a quota pays on every request. Under a caller's `async_to_sync` (a test holding
its data in a transaction) the call keeps asgiref's thread-sensitive rules and runs on that
caller's thread, where the transaction is.

Batched writes that no request waits for (usage records) run on a thread of their own
(`background_db_call`): on the shared thread, the relay-version check that one request per
refresh interval awaits would queue behind a whole batch.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import AsyncToSync, sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

P = ParamSpec("P")
T = TypeVar("T")

_RELAY = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-db")
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-background-db")


async def db_call(call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` on the relay's database thread, off the event loop.

    Callers name the function at each call (no wrapper made at import), so a test can replace
    it in its module to stand in for a database that has gone away. The call sees the
    caller's context variables (the request id its log lines carry).
    """
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return await sync_to_async(_fresh_call)(call, *args)
    return await _on(_RELAY, call, args)


async def background_db_call(call: Callable[..., T], *args: Any) -> T:
    """`db_call` on the relay's background thread (and its own connection), for writes that
    no request waits for: under load a batch can hold its thread for a long time, and a
    request's own database call must not queue behind it."""
    return await _on(_BACKGROUND, call, args)


async def _on(thread: ThreadPoolExecutor, call: Callable[..., T], args: tuple[Any, ...]) -> T:
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        thread, _in_context, context, call, args
    )


def _in_context(context: contextvars.Context, call: Callable[..., T], args: tuple[Any, ...]) -> T:
    return context.run(_fresh_call, call, *args)


def close_background_connections() -> None:
    """Close the relay's database threads' connections (at shutdown; PostgreSQL counts them)."""
    _RELAY.submit(connections.close_all).result()
    _BACKGROUND.submit(connections.close_all).result()


def _fresh_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # The connection itself, not Django's `connection` proxy: each attribute read through the
    # proxy is an asgiref Local lookup that raises and drops a RuntimeError off the loop.
    db = connections[DEFAULT_DB_ALIAS]
    # Never inside a transaction (a test's), which a dropped connection would abort.
    if not db.in_atomic_block:
        _keep_if_sound(db)
    return call(*args, **kwargs)


def _keep_if_sound(db: BaseDatabaseWrapper) -> None:
    """Django's check between requests (close_old_connections), without its age limit.

    The relay's two database threads live as long as the process, so their connections are
    kept: with CONN_MAX_AGE=0 (SQLite's) every call reopened one, and the last one closed
    checkpointed the WAL; `make bench` measured that at about 5 % of a worker's CPU under load.
    A connection that saw an error is closed if it no longer answers, and PostgreSQL's
    CONN_HEALTH_CHECKS tests it again before the next query.
    """
    if db.connection is None:
        return
    if db.get_autocommit() != db.settings_dict["AUTOCOMMIT"]:
        db.close()
        return
    if db.errors_occurred:
        if not db.is_usable():
            db.close()
            return
        db.errors_occurred = False
    db.health_check_done = False  # type: ignore[attr-defined]
