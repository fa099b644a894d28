"""Metric values that add up in memory and reach prometheus-client's files in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, values
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

from gateway import metric_values
from gateway.metric_values import FLUSH_SECONDS, buffered_values, flush


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    flush()  # nothing left over from another test
    yield tmp_path
    flush()
    values.close_all_multiprocess_files()


def make_counter(name: str = "requests") -> object:
    """A value as prometheus-client makes one for a counter without labels."""
    value_class = buffered_values(values.MultiProcessValue())
    return value_class("counter", name, f"{name}_total", (), (), "Requests.")


def make_gauge(name: str = "waiting") -> object:
    value_class = buffered_values(values.MultiProcessValue())
    return value_class("gauge", name, name, (), (), "Waiting.", multiprocess_mode="livesum")


def scraped(directory: Path) -> dict[str, float]:
    """What a scrape reads from the files, as another worker's /metrics would."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(directory))
    return {sample.name: sample.value for family in registry.collect() for sample in family.samples}


def test_updates_wait_in_memory_until_flushed(files: Path) -> None:
    counter = make_counter()
    asyncio.run(_increments(counter, 3))  # in a loop: the write waits for the timer

    assert scraped(files).get("requests_total", 0.0) == 0.0
    assert counter.get() == 3.0  # type: ignore[attr-defined]

    flush()

    assert scraped(files)["requests_total"] == 3.0


async def _increments(counter: object, times: int) -> None:
    for _ in range(times):
        counter.inc(1.0)  # type: ignore[attr-defined]


def test_a_write_is_set_for_the_flush_interval_on_the_running_loop(files: Path) -> None:
    counter = make_counter()

    async def first_update() -> float:
        loop = asyncio.get_running_loop()
        counter.inc(1.0)  # type: ignore[attr-defined]
        timer = metric_values._timer
        assert timer is not None and metric_values._timer_loop is loop
        return timer.when() - loop.time()

    due_in = asyncio.run(first_update())

    assert 0 < due_in <= FLUSH_SECONDS


def test_without_a_running_loop_it_writes_at_once(files: Path) -> None:
    counter = make_counter()

    counter.inc(2.0)  # type: ignore[attr-defined]

    assert scraped(files)["requests_total"] == 2.0


def test_a_gauge_ends_at_its_last_value(files: Path) -> None:
    gauge = make_gauge()

    async def updates() -> None:
        gauge.inc(5.0)  # type: ignore[attr-defined]
        gauge.set(2.0)  # type: ignore[attr-defined]
        gauge.inc(1.0)  # type: ignore[attr-defined]

    asyncio.run(updates())
    flush()

    assert scraped(files)["waiting"] == 3.0


def test_later_updates_add_to_what_was_written(files: Path) -> None:
    counter = make_counter()
    counter.inc(2.0)  # type: ignore[attr-defined]
    asyncio.run(_increments(counter, 4))

    flush()

    assert scraped(files)["requests_total"] == 6.0


def test_a_forked_child_drops_its_parents_unwritten_updates(files: Path) -> None:
    counter = make_counter()
    asyncio.run(_increments(counter, 3))

    metric_values._forget_after_fork()  # what os.fork runs in the child
    flush()

    assert scraped(files).get("requests_total", 0.0) == 0.0
    counter.inc(1.0)  # type: ignore[attr-defined]  # still counts afterwards
    assert scraped(files)["requests_total"] == 1.0


def test_a_value_that_cannot_be_written_does_not_hold_up_the_others(
    files: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = make_counter("broken"), make_counter("fine")

    def full_disk(amount: float) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(broken._file, "inc", full_disk)  # type: ignore[attr-defined]
    asyncio.run(_increments(broken, 1))
    asyncio.run(_increments(fine, 2))

    flush()

    assert scraped(files)["fine_total"] == 2.0
    assert "could not write 1 metric values" in caplog.text
    monkeypatch.undo()
    broken.inc(5.0)  # type: ignore[attr-defined]  # written at once (no loop), the lost one not
    assert scraped(files)["broken_total"] == 5.0


def test_a_most_recent_gauge_keeps_when_it_was_set(files: Path) -> None:
    value_class = buffered_values(values.MultiProcessValue())
    gauge = value_class("gauge", "seen", "seen", (), (), "Seen.", multiprocess_mode="mostrecent")

    async def updates() -> None:
        gauge.set(4.0, timestamp=100.0)  # type: ignore[attr-defined]
        gauge.set(7.0, timestamp=200.0)  # type: ignore[attr-defined]

    asyncio.run(updates())
    flush()

    [written] = [
        (value, timestamp)
        for path in files.glob("gauge_mostrecent_*.db")
        for _, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(path))
    ]
    assert written == (7.0, 200.0)
