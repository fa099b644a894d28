"""The Logs page's CSV download: the filtered records, oldest batch last, streamed as they are
read, in constant memory.

An async iterator on purpose: under ASGI, Django's StreamingHttpResponse reads a synchronous
iterator whole into a list before it sends a byte. This one reads keyset batches of plain
tuples (values_list, no model instances) through sync_to_async and yields each batch's lines
as soon as they are written, so a million rows start downloading at once and never sit in
memory together.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from channels_admin.models import Channel
from core.money import format_money
from tokens.models import Token
from usage.selectors import Cursor, UsageFilters, filter_records, older_than, status_is_rare

BATCH_SIZE = 2000
HEADER = (
    "time",
    "request_id",
    "token_id",
    "token",
    "client_ip",
    "endpoint",
    "requested_model",
    "upstream_model",
    "channel_id",
    "channel",
    "attempts",
    "status",
    "error",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "estimated",
    "cost",
    "currency",
    "latency_ms",
    "first_byte_ms",
)
FIELDS = (
    "created_at",
    "id",
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
    "cost",
    "latency_ms",
    "first_byte_ms",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_filename(now: dt.datetime) -> str:
    return f"tollgate-usage-{timezone.localtime(now):%Y%m%d-%H%M%S}.csv"


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def _attempt_chain(attempts: Any) -> str:
    """ "3:502 > 4:200": each channel tried and what it answered (0: no answer)."""
    if not isinstance(attempts, list):
        return ""
    return " > ".join(
        f"{item.get('channel_id', '')}:{item.get('status') or 0}"
        for item in attempts
        if isinstance(item, dict)
    )


def _names() -> tuple[dict[int, str], dict[int, str]]:
    # Loaded once per download: the admin's tokens and channels, not the records' millions.
    tokens = {
        pk: f"{name} ({prefix}…)"
        for pk, name, prefix in Token.objects.values_list("pk", "name", "prefix")
    }
    channels = dict(Channel.objects.values_list("pk", "name"))
    return tokens, channels


def read_batch(
    filters: UsageFilters, after: Cursor | None, size: int, *, status_by_index: bool = True
) -> list[tuple[Any, ...]]:
    """The next `size` matching records after `after`, newest first, as plain tuples."""
    records = filter_records(filters, status_by_index=status_by_index)
    if after is not None:
        records = older_than(records, after)
    return list(records.values_list(*FIELDS)[:size])


def _line(
    row: Sequence[Any], tokens: dict[int, str], channels: dict[int, str], currency: str
) -> list[Any]:
    (
        created_at,
        _pk,
        request_id,
        token_id,
        client_ip,
        endpoint,
        requested_model,
        upstream_model,
        channel_id,
        attempts,
        status,
        error,
        stream,
        prompt_tokens,
        completion_tokens,
        total_tokens,
        estimated,
        cost,
        latency_ms,
        first_byte_ms,
    ) = row
    cells = [
        timezone.localtime(created_at).isoformat(timespec="milliseconds"),
        request_id,
        token_id if token_id is not None else "",
        tokens.get(token_id, "") if token_id is not None else "",
        client_ip or "",
        endpoint,
        requested_model,
        upstream_model,
        channel_id if channel_id is not None else "",
        channels.get(channel_id, "") if channel_id is not None else "",
        _attempt_chain(attempts),
        status,
        error,
        "true" if stream else "false",
        prompt_tokens,
        completion_tokens,
        total_tokens,
        "true" if estimated else "false",
        format_money(cost),
        currency,
        latency_ms,
        first_byte_ms if first_byte_ms is not None else "",
    ]
    return [safe_cell(cell) for cell in cells]


async def csv_stream(
    filters: UsageFilters, *, currency: str, batch_size: int = BATCH_SIZE
) -> AsyncIterator[str]:
    """The CSV text: the header at once, then each batch's lines as the batch is read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark, so a spreadsheet opens names in Chinese as UTF-8.
    writer.writerow(HEADER)
    yield "\ufeff" + buffer.getvalue()
    tokens, channels = await sync_to_async(_names)()
    # Decided once: every batch then takes the same path through the indexes.
    by_index = await sync_to_async(status_is_rare)(filters)
    after: Cursor | None = None
    while True:
        rows = await sync_to_async(read_batch)(filters, after, batch_size, status_by_index=by_index)
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(_line(row, tokens, channels, currency))
        yield buffer.getvalue()
        if len(rows) < batch_size:
            return
        after = Cursor(rows[-1][0], rows[-1][1])
        del rows
