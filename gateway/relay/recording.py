"""The relay's usage writer, writing on the relay's background database thread (db.py)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from gateway.metrics import set_usage_buffer
from gateway.relay.db import background_db_call
from gateway.relay.last_used import store_last_used
from usage.entries import UsageEntry
from usage.quota import Settlement
from usage.services import store_settlements, store_usage
from usage.writer import UsageWriter


async def write_usage(entries: Sequence[UsageEntry]) -> None:
    await background_db_call(store_usage, entries)


async def write_settlements(settlements: Sequence[Settlement]) -> None:
    await background_db_call(store_settlements, settlements)


async def write_last_used(token_ids: list[int]) -> None:
    await background_db_call(store_last_used, token_ids)


def usage_writer(**overrides: float) -> UsageWriter:
    """The writer with the settings' interval and buffer (`overrides` for tests)."""
    options: dict[str, float] = {
        "flush_seconds": settings.USAGE_FLUSH_SECONDS,
        "buffer_limit": settings.USAGE_BUFFER,
        **overrides,
    }
    return UsageWriter(
        store_records=write_usage,
        store_last_used=write_last_used,
        store_settlements=write_settlements,
        on_pending=set_usage_buffer,
        flush_seconds=float(options["flush_seconds"]),
        buffer_limit=int(options["buffer_limit"]),
    )
