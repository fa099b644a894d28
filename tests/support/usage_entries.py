"""Usage as the relay stores it (records and aggregates, through usage.services.store_usage),
for tests of what the dashboard reads back."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from usage.entries import UsageEntry
from usage.services import store_usage

_numbers = itertools.count(1)


def served(
    *,
    channel_id: int | None = None,
    status: int = 200,
    latency_ms: int = 100,
    attempts: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> UsageEntry:
    """A request answered now (unless `created_at` says otherwise); by default one attempt on
    `channel_id` with the request's status and latency."""
    if attempts is None:
        attempts = (
            [{"channel_id": channel_id, "status": status, "error": None, "latency_ms": latency_ms}]
            if channel_id
            else []
        )
    fields: dict[str, Any] = {
        "created_at": timezone.now(),
        "request_id": f"req-{next(_numbers)}",
        "token_id": None,
        "client_ip": "127.0.0.1",
        "endpoint": "/v1/chat/completions",
        "requested_model": "gpt-4o-mini",
        "channel_id": channel_id,
        "attempts": attempts,
        "status": status,
        "latency_ms": latency_ms,
        "group": "default",
        **overrides,
    }
    return UsageEntry(**fields)


def store(*entries: UsageEntry) -> None:
    store_usage(list(entries))


def hours_ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)
