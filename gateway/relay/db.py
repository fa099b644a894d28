"""Database work from the relay's event loop: in Django's worker thread, on a sound connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection

P = ParamSpec("P")
T = TypeVar("T")


async def db_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)` in the thread Django's ORM calls run in, off the event loop.

    Callers name the function at each call (no wrapper made at import), so a test can replace
    it in its module to stand in for a database that has gone away.
    """
    return await sync_to_async(_fresh_call)(call, *args, **kwargs)


def _fresh_call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # No request cycle closes the relay's connections: drop a broken or expired one first,
    # as Django does between requests. Never inside a transaction (a test's), which a
    # dropped connection would abort.
    if not connection.in_atomic_block:
        close_old_connections()
    return call(*args, **kwargs)
