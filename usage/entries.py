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
    group: str = ""  # the token's group (for the aggregates; records do not keep it)
    unpriced: bool = True
    cost: int = 0  # core.money units; billed only for an answer the upstream gave (2xx)
    # What the request held of its token's quota and budgets (usage/quota.py), and the day and
    # month it counts in (the request's start, in TOLLGATE_TIME_ZONE): the writer settles both
    # with the record, in one transaction.
    reserved: int = 0
    day: dt.date | None = None
    month: dt.date | None = None
