"""Under steady traffic the writer still writes once per tick, not a stream of tiny batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tests.support.in_process import run_here
from tests.usage.test_writer import entry
from usage.entries import UsageEntry
from usage.writer import UsageWriter


async def _no_last_used(token_ids: list[int]) -> None:
    return None


def test_a_flush_writes_what_was_pending_and_leaves_new_arrivals_for_the_next_tick() -> None:
    batches: list[int] = []

    async def store(entries: Sequence[UsageEntry]) -> None:
        batches.append(len(entries))
        await asyncio.sleep(0)  # a real write yields to the event loop
        # A request ends while the batch is being written (as under load, every time).
        writer.add(entry(f"late-{len(batches)}"))

    writer = UsageWriter(store_records=store, store_last_used=_no_last_used, flush_seconds=3600)

    async def scenario() -> int:
        for number in range(3):
            writer.add(entry(f"req-{number}"))
        # Draining until empty would never end here: bounded, so that fails instead of hanging.
        await asyncio.wait_for(writer.flush(), timeout=5)
        return writer.pending

    assert run_here(scenario) == 1
    assert batches == [3]
