"""Waiting for the relay's usage records, which its writer stores on a timer."""

from __future__ import annotations

import time
from typing import Any

from django.db import close_old_connections

from usage.models import UsageRecord

# Far beyond the writer's interval in these tests; a pass takes a fraction of a second.
PATIENCE = 10.0
# What serving_gateway(usage=usage_writer(**FAST)) writes with: every 50 ms.
FAST: dict[str, Any] = {"flush_seconds": 0.05}


def wait_for_records(count: int, **filters: Any) -> list[UsageRecord]:
    """The records matching `filters` once there are `count` of them, oldest first.

    Polls the database (bounded by PATIENCE): the test asserts what got written, no sleep.
    """
    deadline = time.monotonic() + PATIENCE
    while True:
        close_old_connections()
        found = list(UsageRecord.objects.filter(**filters).order_by("id"))
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} usage records, not {count}"
        time.sleep(0.02)
