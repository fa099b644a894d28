"""The relay's database threads keep their connection, and replace one that broke."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from django.db import DatabaseError, connection

from gateway.log_format import request_id_var
from gateway.relay.db import background_db_call, db_call


def _mark_connection() -> None:
    # A temporary table lives as long as the connection that made it, on every backend.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE relay_connection_marker (n integer)")


def _marked() -> bool:
    with connection.cursor() as cursor:
        try:
            cursor.execute("SELECT count(*) FROM relay_connection_marker")
        except DatabaseError:
            return False
    return True


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_connection_between_calls() -> None:
    async def twice() -> bool:
        await db_call(_mark_connection)
        return await db_call(_marked)

    assert asyncio.run(twice())


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_keeps_its_connection_too() -> None:
    async def twice() -> bool:
        await background_db_call(_mark_connection)
        return await background_db_call(_marked)

    assert asyncio.run(twice())


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("only a database server drops connections: NOT RUN on SQLite")

    async def scenario() -> tuple[int, int]:
        before = await db_call(_backend)
        # What a restarted server or a proxy's idle timeout does to the kept connection.
        dsn = connection.get_connection_params()
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (before,))
        after = await db_call(_backend)
        return before, after

    before, after = asyncio.run(scenario())

    assert after != before


def test_calls_run_off_the_event_loops_thread_and_see_its_context() -> None:
    def seen() -> tuple[int, str | None]:
        return threading.get_ident(), request_id_var.get()

    async def from_a_request() -> list[tuple[int, str | None]]:
        request_id_var.set("req-123")
        return [await db_call(seen), await background_db_call(seen)]

    (relay_thread, relay_id), (background_thread, background_id) = asyncio.run(from_a_request())

    assert threading.get_ident() not in (relay_thread, background_thread)
    assert relay_thread != background_thread
    assert relay_id == background_id == "req-123"
