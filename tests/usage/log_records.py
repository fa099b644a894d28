"""Usage records for the Logs tests: one with every field set, or many at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from usage.models import UsageRecord

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def record_values(**overrides: Any) -> dict[str, Any]:
    return {
        "created_at": T0,
        "request_id": "req-1",
        "token_id": None,
        "client_ip": "10.0.0.7",
        "endpoint": "/v1/chat/completions",
        "requested_model": "gpt-4o-mini",
        "upstream_model": "gpt-4o-mini",
        "channel_id": None,
        "attempts": [],
        "status": 200,
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "unpriced": False,
        "cost": 1_500_000,
        "latency_ms": 15,
        "first_byte_ms": 9,
        **overrides,
    }


def make_record(**overrides: Any) -> UsageRecord:
    return UsageRecord.objects.create(**record_values(**overrides))


def make_records(count: int, *, start: dt.datetime = T0, **overrides: Any) -> None:
    """`count` records one second apart from `start` on; request ids "r0", "r1", … in order."""
    UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                **record_values(
                    created_at=start + dt.timedelta(seconds=n), request_id=f"r{n}", **overrides
                )
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
