"""Writing usage records: whole batches at once, off the relay's event loop (writer.py).

One prepared INSERT run for every row of a batch, values adapted by the database backend
as the ORM would: a model instance and `bulk_create` cost ~60 µs a row, this ~10, and the
writer runs on every request's behalf (bench: the relay's CPU budget).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from usage.entries import UsageEntry
from usage.models import COST_DIGITS, COST_PLACES, MAX_ENDPOINT, MAX_ERROR, MAX_MODEL, UsageRecord

# Bounds the positive integer columns hold on every database (PostgreSQL's `integer`).
MAX_COUNT = 2_147_483_647
COLUMNS = (
    "created_at",
    "request_id",
    "token_id",
    "client_ip",
    "endpoint",
    "requested_model",
    "upstream_model",
    "channel_id",
    "attempts",
    "status",
    "error",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "estimated",
    "unpriced",
    "cost",
    "latency_ms",
    "first_byte_ms",
)
ZERO = Decimal(0)


def _count(value: int) -> int:
    return min(max(int(value), 0), MAX_COUNT)


def _address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None  # a unix socket's peer, say: no address to keep


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(UsageRecord._meta.db_table)} "
        f"({', '.join(quote(column) for column in COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    )


def _row(entry: UsageEntry) -> tuple[Any, ...]:
    ops = connection.ops
    return (
        ops.adapt_datetimefield_value(entry.created_at),
        entry.request_id[:128],
        entry.token_id,
        ops.adapt_ipaddressfield_value(_address(entry.client_ip)),
        entry.endpoint[:MAX_ENDPOINT],
        entry.requested_model[:MAX_MODEL],
        entry.upstream_model[:MAX_MODEL],
        entry.channel_id,
        ops.adapt_json_value(entry.attempts, None),
        min(max(entry.status, 0), 999),
        entry.error[:MAX_ERROR],
        entry.stream,
        _count(entry.prompt_tokens),
        _count(entry.completion_tokens),
        _count(entry.total_tokens),
        entry.estimated,
        True,  # unpriced: no prices yet
        ops.adapt_decimalfield_value(ZERO, COST_DIGITS, COST_PLACES),
        _count(entry.latency_ms),
        None if entry.first_byte_ms is None else _count(entry.first_byte_ms),
    )


def store_usage(entries: Sequence[UsageEntry]) -> None:
    """One batch in one transaction: all written or none (so a failed one is retried whole)."""
    if not entries:
        return
    rows = [_row(entry) for entry in entries]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_insert_sql(connection.vendor), rows)
