from __future__ import annotations

from gateway.relay.translate.sse_events import SSEEvents, sse

STREAM = (
    b": keep-alive\n"
    b"event: message_start\n"
    b'data: {"a": 1}\n'
    b"\n"
    b"data: first\n"
    b"data:second\n"
    b"id: 7\n"
    b"retry: 100\n"
    b"\n"
    b"event: lonely\n"
    b"\n"
    b"data\n"
    b"\n"
)
EXPECTED = [("message_start", b'{"a": 1}'), ("", b"first\nsecond"), ("", b"")]


def test_it_reads_events_fed_whole() -> None:
    assert SSEEvents().feed(STREAM) == EXPECTED


def test_it_reads_events_fed_byte_by_byte() -> None:
    parser = SSEEvents()
    got = [event for at in range(len(STREAM)) for event in parser.feed(STREAM[at : at + 1])]
    assert got == EXPECTED


def test_it_reads_crlf_and_cr_line_ends_however_cut() -> None:
    for ending in (b"\r\n", b"\r"):
        stream = STREAM.replace(b"\n", ending)
        parser = SSEEvents()
        got = [event for at in range(len(stream)) for event in parser.feed(stream[at : at + 1])]
        assert got == EXPECTED
        assert SSEEvents().feed(stream) == EXPECTED


def test_a_crlf_cut_between_cr_and_lf_is_one_line_end() -> None:
    parser = SSEEvents()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\r") == [("", b"x")]
    assert parser.feed(b"\ndata: y\r\n\r\n") == [("", b"y")]


def test_an_unfinished_event_waits() -> None:
    parser = SSEEvents()
    assert parser.feed(b'event: a\ndata: {"x"') == []
    assert parser.feed(b": 1}\n") == []
    assert parser.feed(b"\n") == [("a", b'{"x": 1}')]


def test_it_writes_an_event() -> None:
    assert sse("ping", b'{"type":"ping"}') == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert sse(None, b"[DONE]") == b"data: [DONE]\n\n"


def test_it_writes_multi_line_data_as_many_data_lines() -> None:
    written = sse("x", b"one\ntwo")
    assert written == b"event: x\ndata: one\ndata: two\n\n"
    assert SSEEvents().feed(written) == [("x", b"one\ntwo")]
