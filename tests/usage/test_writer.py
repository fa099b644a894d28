"""The batched usage writer: on a timer, bounded while the database is away, drained at close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from gateway.relay.recording import write_last_used, write_settlements, write_usage
from tests.support.factories import make_token
from tests.support.in_process import run_here
from tokens.models import Token
from usage.entries import UsageEntry
from usage.models import UsageRecord
from usage.writer import UsageWriter

# Bounds every wait below; a pass takes a fraction of it.
PATIENCE = 10.0


def entry(request_id: str = "req-1", token_id: int | None = None) -> UsageEntry:
    return UsageEntry(
        created_at=timezone.now(),
        request_id=request_id,
        token_id=token_id,
        client_ip="127.0.0.1",
        endpoint="/v1/chat/completions",
        requested_model="gpt-4o-mini",
        status=200,
        prompt_tokens=5,
        completion_tokens=3,
        total_tokens=8,
    )


async def records_count() -> int:
    return await sync_to_async(UsageRecord.objects.count)()


async def wait_until(condition: object, what: str) -> None:
    """Polls `condition` (an async callable returning bool), bounded by PATIENCE."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while not await condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"not within {PATIENCE} s: {what}"
        await asyncio.sleep(0.02)


class Outage:
    """A database call that fails until `end()`: the writer's store while the DB is away."""

    def __init__(self) -> None:
        self.over = False
        self.failed_calls = 0

    def end(self) -> None:
        self.over = True

    async def store(self, entries: Sequence[UsageEntry]) -> None:
        if not self.over:
            self.failed_calls += 1
            raise ConnectionError("the database is away")
        await write_usage(entries)


@pytest.mark.django_db(transaction=True)
def test_a_record_is_written_by_the_timer_without_more_traffic() -> None:
    writer = UsageWriter(
        store_records=write_usage, store_last_used=write_last_used, flush_seconds=0.2
    )

    written = entry()

    async def scenario() -> int:
        writer.add(written)
        # No further request, no close: only the timer can write it.
        await wait_until(lambda: _at_least(1), "the record is written")
        return await records_count()

    assert run_here(scenario) == 1
    record = UsageRecord.objects.get()
    assert (record.request_id, record.total_tokens, record.status) == ("req-1", 8, 200)
    assert (record.created_at, record.client_ip) == (written.created_at, "127.0.0.1")
    assert (record.cost, record.unpriced, record.first_byte_ms) == (0, True, None)


async def _at_least(count: int) -> bool:
    return await records_count() >= count


@pytest.mark.django_db(transaction=True)
def test_records_wait_out_a_database_outage_and_are_written_after_it() -> None:
    outage = Outage()
    writer = UsageWriter(
        store_records=outage.store, store_last_used=write_last_used, flush_seconds=0.05
    )

    async def scenario() -> tuple[int, int, int]:
        for number in range(3):
            writer.add(entry(f"req-{number}"))
        await wait_until(_two_failures(outage), "the writer tried and failed twice")
        during = await records_count()
        pending_during = writer.pending
        outage.end()

        # The rows are visible as soon as their transaction commits, a moment before the
        # writer's own write returns and stops counting them as pending: wait for both.
        async def written() -> bool:
            return writer.pending == 0 and await _at_least(3)

        await wait_until(written, "the buffered records are written")
        return during, pending_during, writer.pending

    during, pending_during, pending_after = run_here(scenario)
    assert (during, pending_during, pending_after) == (0, 3, 0)
    assert sorted(UsageRecord.objects.values_list("request_id", flat=True)) == [
        "req-0",
        "req-1",
        "req-2",
    ]


def _two_failures(outage: Outage) -> object:
    async def check() -> bool:
        return outage.failed_calls >= 2

    return check


def test_a_full_buffer_drops_new_records_counts_and_logs_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage()
    writer = UsageWriter(
        store_records=outage.store,
        store_last_used=write_last_used,
        flush_seconds=3600,
        buffer_limit=3,
    )

    async def scenario() -> tuple[int, int]:
        for number in range(5):
            writer.add(entry(f"req-{number}"))
        await writer.flush()  # fails: the outage goes on, the three stay
        writer.add(entry("req-5"))
        return writer.pending, writer.dropped

    with caplog.at_level(logging.ERROR, logger="usage.writer"):
        assert run_here(scenario) == (3, 3)
    messages = [record.getMessage() for record in caplog.records]
    assert any("usage buffer full" in message for message in messages)
    assert any("2 usage records dropped" in message for message in messages)


@pytest.mark.django_db(transaction=True)
def test_closing_writes_what_is_pending() -> None:
    writer = UsageWriter(
        store_records=write_usage, store_last_used=write_last_used, flush_seconds=3600
    )

    async def scenario() -> None:
        for number in range(1500):  # more than one batch
            writer.add(entry(f"req-{number}"))
        await writer.aclose()

    run_here(scenario)
    assert UsageRecord.objects.count() == 1500


@pytest.mark.django_db(transaction=True)
def test_last_used_is_written_by_the_timer_after_a_single_use() -> None:
    token = make_token().token
    writer = UsageWriter(
        store_records=write_usage, store_last_used=write_last_used, flush_seconds=0.2
    )

    async def used() -> bool:
        found = await sync_to_async(Token.objects.get)(pk=token.pk)
        return found.last_used_at is not None

    async def scenario() -> None:
        writer.note_used(token.pk)
        # One use, then nothing: the timer writes it all the same.
        await wait_until(used, "the token's last use is written")

    run_here(scenario)
    assert Token.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_record_keeps_its_token_id_after_the_token_is_deleted() -> None:
    token = make_token().token
    writer = UsageWriter(
        store_records=write_usage, store_last_used=write_last_used, flush_seconds=3600
    )

    async def scenario() -> None:
        writer.add(entry(token_id=token.pk))
        await writer.aclose()

    run_here(scenario)
    Token.objects.filter(pk=token.pk).delete()
    assert UsageRecord.objects.get().token_id == token.pk


@pytest.mark.django_db(transaction=True)
def test_a_batch_settles_its_tokens_quota_with_its_records() -> None:
    token = make_token().token
    Token.objects.filter(pk=token.pk).update(quota_limit=100, quota_reserved=60)
    writer = UsageWriter(
        store_records=write_usage, store_last_used=write_last_used, flush_seconds=3600
    )
    billed = entry("req-billed", token.pk)
    billed.reserved, billed.cost, billed.unpriced = 40, 25, False
    failed = entry("req-failed", token.pk)
    failed.reserved, failed.status = 20, 502

    async def scenario() -> None:
        writer.add(billed)
        writer.add(failed)
        await writer.aclose()

    run_here(scenario)
    token.refresh_from_db()
    assert (token.quota_used, token.quota_reserved) == (25, 0)
    assert sum(UsageRecord.objects.values_list("cost", flat=True)) == 25


@pytest.mark.django_db(transaction=True)
def test_a_dropped_record_still_gives_its_reservation_back() -> None:
    token = make_token().token
    Token.objects.filter(pk=token.pk).update(quota_limit=100, quota_reserved=30)
    outage = Outage()
    writer = UsageWriter(
        store_records=outage.store,
        store_last_used=write_last_used,
        store_settlements=write_settlements,
        flush_seconds=3600,
        buffer_limit=1,
    )
    dropped = entry("req-dropped", token.pk)
    dropped.reserved, dropped.cost = 30, 10

    async def scenario() -> int:
        writer.add(entry("req-kept"))
        writer.add(dropped)  # the buffer is full: no record, but its money still moves
        await writer.flush()
        return writer.dropped

    assert run_here(scenario) == 1
    token.refresh_from_db()
    assert (token.quota_used, token.quota_reserved) == (10, 0)
