"""SQLite, the default database or one DATABASE_URL names: tuned for many small writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

from tests.support.served import run_python

pytestmark = pytest.mark.django_db


def _pragma(name: str) -> int | str:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]  # type: ignore[no-any-return]


def test_it_writes_ahead_and_syncs_at_checkpoints() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite settings: NOT RUN on PostgreSQL (DATABASE_URL)")

    assert _pragma("journal_mode") == "wal"
    assert _pragma("synchronous") == 1  # NORMAL
    assert _pragma("busy_timeout") == 20_000


def test_it_keeps_temporary_files_in_memory() -> None:
    # The usage writer's statement journals spilled to /var/tmp: a pwrite() a request.
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite settings: NOT RUN on PostgreSQL (DATABASE_URL)")

    assert _pragma("temp_store") == 2  # MEMORY


_PRAGMAS = """
import json
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    found = {}
    for name in ("journal_mode", "synchronous", "temp_store", "busy_timeout"):
        cursor.execute(f"PRAGMA {name}")
        found[name] = cursor.fetchone()[0]
print(json.dumps(found))
"""


def test_a_database_url_naming_sqlite_gets_the_same_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'named.sqlite3'}"

    printed = run_python(tmp_path, _PRAGMAS, DATABASE_URL=url)

    assert json.loads(printed) == {
        "journal_mode": "wal",
        "synchronous": 1,
        "temp_store": 2,
        "busy_timeout": 20_000,
    }
