"""A usage record as the relay fills it in while it answers, before it is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class UsageEntry:
    """The fields of `UsageRecord` (models.py), kept as plain values on the hot path.

    `attempts`: one {"channel_id", "status", "error", "latency_ms"} per channel tried.
    """

    created_at: dt.datetime
    request_id: str
    token_id: int | None
    client_ip: str | None
    endpoint: str
    requested_model: str = ""
    upstream_model: str = ""
    channel_id: int | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0
    error: str = ""
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False
    latency_ms: int = 0
    first_byte_ms: int | None = None
