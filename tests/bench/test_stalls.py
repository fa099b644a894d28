"""BENCH_STALLS=1's watcher: a held event loop is seen, with the code that held it."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

from bench.stalls import dump, render, watching


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a blocking call, as a synchronous library would make


def _collect_while_holding(seconds: float) -> None:
    def hold(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(seconds)

    gc.callbacks.append(hold)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(hold)


async def _beats(count: int) -> None:
    """Lets the heartbeat run: a stall ends when the loop's next beat comes."""
    for _ in range(count):
        await asyncio.sleep(0.001)


def _watched(*holds: object, threshold_s: float = 0.015) -> list[dict[str, object]]:
    async def main() -> list[dict[str, object]]:
        with watching(asyncio.get_running_loop(), threshold_s=threshold_s) as stalls:
            await _beats(5)
            for hold in holds:
                hold()  # type: ignore[operator]
                await _beats(5)
        return stalls.stalls

    return asyncio.run(main())


def test_a_held_loop_is_seen_with_its_length_and_the_code_holding_it() -> None:
    # Only the long one: a busy machine may hold a loop for a moment on its own.
    (stall,) = [s for s in _watched(lambda: _hold_the_loop(0.08)) if s["ms"] >= 50]  # type: ignore[operator]
    assert 75 <= float(stall["ms"]) < 1000  # type: ignore[arg-type]
    assert stall["gc"] is False
    assert any("_hold_the_loop" in frame for frame in stall["stack"])  # type: ignore[attr-defined]


def test_a_stall_that_ends_as_the_watch_stops_is_counted() -> None:
    async def main() -> list[dict[str, object]]:
        with watching(asyncio.get_running_loop()) as stalls:
            await _beats(2)
            _hold_the_loop(0.08)
            await _beats(1)  # the beat that ends it, then the watch stops at once
        return stalls.stalls

    assert [s for s in asyncio.run(main()) if s["ms"] >= 50]  # type: ignore[operator]


def test_a_loop_that_keeps_its_beat_has_no_stall() -> None:
    # A threshold a busy machine's scheduler does not reach on its own.
    assert _watched(lambda: _hold_the_loop(0.002), threshold_s=0.05) == []


def test_a_stall_in_a_garbage_collection_is_marked_so() -> None:
    stalls = _watched(lambda: _collect_while_holding(0.08))
    (stall,) = [s for s in stalls if s["ms"] >= 50]  # type: ignore[operator]
    assert stall["gc"] is True


def test_the_report_names_the_longest_stalls_and_their_frames(tmp_path: Path) -> None:
    seen = [
        {"at": 1.0, "ms": 18.2, "gc": True, "stack": ["gc.py:1 collect"]},
        {"at": 2.0, "ms": 117.0, "gc": False, "stack": ["ssl.py:770 create_default_context"]},
    ]
    text = render(seen, 80)
    assert "over 15 ms during the slow streams (BENCH_STALLS=1; 80 s of streams, and" in text
    assert "warm-up before them): 2, 1 of them in a garbage collection" in text
    assert text.index("- 117.0 ms:\n    ssl.py:770") < text.index(
        "- 18.2 ms (in a garbage collection):"
    )
    assert render([], 80).endswith(": none.")
    assert "no Python code running" not in text


def test_a_stall_outside_python_code_is_told_apart() -> None:
    seen = [{"at": 1.0, "ms": 40.0, "gc": False, "stack": ["asyncio/runners.py:118 run"]}]
    assert "had no Python code running on the loop's thread" in render(seen, 80)


def test_what_it_noted_is_written_whole(tmp_path: Path) -> None:
    async def main() -> Path:
        with watching(asyncio.get_running_loop()) as stalls:
            _hold_the_loop(0.05)
            await _beats(5)
        return dump(stalls, tmp_path)

    path = asyncio.run(main())
    assert '"ms"' in path.read_text()
    assert not list(tmp_path.glob("*.partial"))
