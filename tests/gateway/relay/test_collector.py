"""Full garbage collections wait until few streams are open, or until the longest gap."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway.relay.collector import MIDDLE_EVERY, RARE_FULL, FullCollections


class _Node:
    partner: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    """A reference cycle no one holds: only a collection frees it."""
    first, second = _Node(), _Node()
    first.partner, second.partner = second, first
    return weakref.ref(first)


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


def test_it_holds_off_while_many_streams_are_open(no_automatic_collection: None) -> None:
    collections = FullCollections(lambda: 500, quiet_streams=32, longest_gap=900.0)
    garbage = _cycle()

    assert collections.collect_if_due() is False
    assert garbage() is not None


def test_it_collects_once_the_worker_is_quiet(no_automatic_collection: None) -> None:
    open_streams = 500
    collections = FullCollections(lambda: open_streams, quiet_streams=32)
    garbage = _cycle()
    collections.collect_if_due()

    open_streams = 3
    assert collections.collect_if_due() is True
    assert garbage() is None


def test_it_collects_when_the_longest_gap_has_passed_however_busy(
    no_automatic_collection: None,
) -> None:
    collections = FullCollections(lambda: 5000, quiet_streams=32, longest_gap=0.0)
    garbage = _cycle()

    assert collections.collect_if_due() is True
    assert garbage() is None


def test_it_turns_automatic_full_collections_off_and_back_on() -> None:
    before = gc.get_threshold()
    collections = FullCollections(lambda: 0)

    collections.take_over()
    # The youngest generation's threshold is Python's; the middle one is collected in
    # shorter passes.
    assert gc.get_threshold() == (before[0], MIDDLE_EVERY, RARE_FULL)
    collections.give_back()

    assert gc.get_threshold() == before


def test_running_it_restores_the_thresholds_when_stopped() -> None:
    before = gc.get_threshold()

    async def scenario() -> tuple[int, int, int]:
        stop = asyncio.Event()
        running = asyncio.ensure_future(FullCollections(lambda: 0, check_seconds=30).run(stop))
        await asyncio.sleep(0)
        during = gc.get_threshold()
        stop.set()
        await running
        return during

    during = asyncio.run(scenario())

    assert during[1:] == (MIDDLE_EVERY, RARE_FULL)
    assert gc.get_threshold() == before
