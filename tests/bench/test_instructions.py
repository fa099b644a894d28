"""The callgrind counts: read from callgrind's dump files, shown beside the floor's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.client import BenchError
from bench.instructions import REQUESTS, STREAMS, Counted, dumped_totals, per_unit, render

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: {pid}
part: {part}

desc: Timerange: Basic block 0 - 36302622
desc: Trigger: dump {tag}

events: Ir
summary: {summary}

fn=(1) main
0 5
totals: {total}
"""


def _dump(directory: Path, name: str, part: int, tag: str, total: int, summary: int) -> None:
    text = DUMP.format(pid=42, part=part, tag=tag, total=total, summary=summary)
    (directory / f"{name}.42.{part}").write_text(text)


def test_it_reads_each_dump_by_its_tag(tmp_path: Path) -> None:
    _dump(tmp_path, "tollgate", 1, "requests", 600_000, 600_000)
    # After a dump zeroes the counters, callgrind 3.19 may write a summary wrapped below zero.
    _dump(tmp_path, "tollgate", 2, "streams", 90_000, 18446744073580471484)
    (tmp_path / "tollgate.42").write_text("desc: Trigger: Program termination\ntotals: 7\n")
    (tmp_path / "floor.43.1").write_text("desc: Trigger: dump requests\ntotals: 1\n")

    assert dumped_totals(tmp_path, "tollgate") == {"requests": 600_000, "streams": 90_000}


def test_it_counts_per_request_and_per_stream() -> None:
    counted = per_unit({"requests": REQUESTS * 1000, "streams": STREAMS * 5000})
    assert counted == Counted(request=1000, stream=5000)


def test_a_missing_dump_is_an_error_not_a_zero() -> None:
    with pytest.raises(BenchError, match="no count for every scenario"):
        per_unit({"requests": 5})


def test_it_shows_each_count_beside_the_floor() -> None:
    text = render((Counted(500_000, 1_500_000), Counted(900_000, 2_700_000)))
    assert "| non-streamed request, c=1 | 500,000 | 900,000 | 1.80x |" in text
    assert "| 20-chunk stream, c=1, 20 ms pauses | 1,500,000 | 2,700,000 | 1.80x |" in text


def test_it_says_why_there_are_no_counts() -> None:
    text = render("valgrind is not installed (Debian: apt-get install valgrind): no counts")
    assert "valgrind is not installed" in text
    assert "|" not in text


def test_it_shows_the_quota_tokens_request_beside_the_floors() -> None:
    tollgate = Counted(900_000, 2_700_000, spending_request=1_500_000)
    text = render((Counted(500_000, 1_500_000), tollgate))
    row = "| non-streamed request, c=1, token with a quota and budgets |"
    assert f"{row} 500,000 | 1,500,000 | 3.00x |" in text


def test_a_count_of_requests_alone_needs_no_streams() -> None:
    assert per_unit({"requests": REQUESTS * 7}, streams=False) == Counted(request=7)


def test_it_shows_the_bare_relays_beside_the_floor() -> None:
    tollgate = Counted(900_000, 2_700_000, bare_httpx_request=650_000, bare_aiohttp_request=450_000)
    text = render((Counted(500_000, 1_500_000), tollgate))
    stack = "| non-streamed request, c=1, bare relay on Tollgate's stack (uvicorn; httpx over"
    assert f"{stack} httpx-aiohttp) | 500,000 | 650,000 | 1.30x |" in text
    bare = "| non-streamed request, c=1, bare relay on uvicorn and aiohttp's client |"
    assert f"{bare} 500,000 | 450,000 | 0.90x |" in text
    # Tollgate's own request row stays first.
    assert text.index("| non-streamed request, c=1 | 500,000 | 900,000 |") < text.index(stack)
