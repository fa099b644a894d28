"""The stream tap reads the usage chunk and hides it from a client that did not ask, as the
lines pass; chunks that only say `"usage":null` go by untouched."""

from __future__ import annotations

import json

import pytest

from gateway.relay.sse import SSERewriter
from gateway.relay.stream_usage import MAX_KEPT_BYTES, StreamTap

USAGE = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}


def openai_chunk(content: str | None, usage: object = None) -> bytes:
    """A chunk as OpenAI writes it with include_usage: compact, `"usage":null` until the end."""
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    event = {"id": "c", "object": "chat.completion.chunk", "choices": choices, "usage": usage}
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def test_chunks_with_a_null_usage_pass_untouched_and_the_usage_chunk_is_hidden() -> None:
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)
    done = b"data: [DONE]\n\n"
    chunks = [openai_chunk("Hel"), openai_chunk("lo"), openai_chunk(None, USAGE), done]

    out = [rewriter.feed(chunk) for chunk in chunks]

    assert out == [chunks[0], chunks[1], b"", chunks[3]]
    assert tap.usage == (9, 4, 13)


def test_the_usage_chunk_is_found_in_the_same_read_as_null_ones() -> None:
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)
    read = openai_chunk("Hi") + openai_chunk(None, USAGE) + b"data: [DONE]\n\n"

    out = rewriter.feed(read)

    assert out == openai_chunk("Hi") + b"data: [DONE]\n\n"
    assert tap.usage == (9, 4, 13)


def test_a_whole_answer_in_one_read_loses_only_the_usage_chunk() -> None:
    # An upstream that does not pause: every event arrives in the relay's first read.
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)
    words = b"".join(openai_chunk(f"word{n} ") for n in range(20))
    done = b"data: [DONE]\n\n"

    out = rewriter.feed(words + openai_chunk(None, USAGE) + done)

    assert out == words + done
    assert tap.usage == (9, 4, 13)


def test_a_usage_that_rides_on_a_choice_is_taken_off_that_chunk_alone() -> None:
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)
    words = b"".join(openai_chunk(f"word{n} ") for n in range(5))

    out = rewriter.feed(words + openai_chunk("end", USAGE))

    assert out.startswith(words)
    last = json.loads(out[len(words) :].removeprefix(b"data: "))
    assert "usage" not in last
    assert last["choices"][0]["delta"]["content"] == "end"
    assert tap.usage == (9, 4, 13)


# SSE lets a line end in CR LF or a lone CR too; lone-CR lines reach the tap at the end.
@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["cr-lf", "lone-cr"])
def test_other_line_endings_lose_the_usage_chunk_and_its_blank_line(ending: bytes) -> None:
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)

    def ended(event: bytes) -> bytes:
        return event.replace(b"\n", ending)

    words = ended(openai_chunk("Hi") + openai_chunk("there"))
    done = ended(b"data: [DONE]\n\n")

    out = rewriter.feed(words + ended(openai_chunk(None, USAGE)) + done) + rewriter.flush()

    assert out == words + done
    assert tap.usage == (9, 4, 13)


def test_a_client_that_asked_gets_the_usage_chunk() -> None:
    tap = StreamTap(hide_usage=False)
    rewriter = SSERewriter(tap=tap)
    last = openai_chunk(None, USAGE)

    assert rewriter.feed(openai_chunk("Hi")) == openai_chunk("Hi")
    assert rewriter.feed(last) == last
    assert tap.usage == (9, 4, 13)


def test_a_long_stream_keeps_a_bounded_part_of_what_it_relayed() -> None:
    tap = StreamTap(hide_usage=True)
    rewriter = SSERewriter(tap=tap)
    chunks = [openai_chunk(f"word{n % 10} ") for n in range(2000)]  # about 230 KB

    for one in chunks:
        rewriter.feed(one)

    assert tap.seen_bytes == sum(map(len, chunks))
    # Kept until the bound is passed, by one read at most: an open stream's memory stays
    # bounded however long the answer.
    assert MAX_KEPT_BYTES <= tap.kept_bytes < MAX_KEPT_BYTES + len(chunks[0])
    assert tap.seen_bytes > 3 * tap.kept_bytes
