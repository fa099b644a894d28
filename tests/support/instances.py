"""Gateway processes of their own on this test's PostgreSQL database, as several instances of
a deployment share one: the same database, Redis, SECRET_KEY and TOLLGATE_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "several gateway processes need PostgreSQL (DATABASE_URL): NOT RUN on SQLite; "
            "make test runs it in its PostgreSQL pass"
        )


def instance_env(**extra: Any) -> dict[str, str]:
    """The environment of an instance sharing this test's database and secrets."""
    database = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        # The same secrets as this test's process: it made the tokens and the channel keys.
        "SECRET_KEY": settings.SECRET_KEY,
        "TOLLGATE_ENCRYPTION_KEY": ",".join(settings.ENCRYPTION_KEYS),
        "TOLLGATE_USAGE_FLUSH_SECONDS": "0.05",
        "TOLLGATE_PROBER": "false",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env
