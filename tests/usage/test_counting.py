"""The token estimate (no tokenizer) and reading an upstream's usage in either naming."""

from __future__ import annotations

import orjson

from usage.counting import (
    estimate_prompt_tokens,
    estimate_text_tokens,
    read_usage,
    stream_text,
    usage_in_tail,
)


def test_latin_text_is_about_four_characters_a_token() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2
    assert estimate_text_tokens("Hello, world! " * 10) == 35


def test_cjk_characters_are_a_token_each() -> None:
    assert estimate_text_tokens("你好世界") == 4
    assert estimate_text_tokens("こんにちは") == 5
    assert estimate_text_tokens("안녕") == 2
    assert estimate_text_tokens("你好 abcd") == 2 + 2  # " abcd" is 5 characters


def test_a_chat_prompt_counts_its_messages_and_their_framing() -> None:
    payload = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "abcdefgh"},
            {"role": "user", "content": [{"type": "text", "text": "你好"}]},
        ],
    }

    assert estimate_prompt_tokens(payload) == 2 * 4 + 3 + 2 + 2


def test_images_in_a_prompt_are_not_counted_as_text() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}}
    payload = {"messages": [{"role": "user", "content": [image]}]}

    assert estimate_prompt_tokens(payload) == 4 + 3


def test_usage_is_read_in_chat_and_responses_naming() -> None:
    assert read_usage({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}) == (5, 3, 8)
    assert read_usage({"input_tokens": 7, "output_tokens": 2}) == (7, 2, 9)
    assert read_usage({"prompt_tokens": 4, "total_tokens": 4}) == (4, 0, 4)
    assert read_usage(None) is None
    assert read_usage({"other": 1}) is None


def test_a_big_answers_usage_is_found_at_its_end() -> None:
    body = orjson.dumps(
        {
            "data": [{"embedding": [0.1] * 50_000}],
            "usage": {
                "prompt_tokens": 9,
                "total_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        }
    )

    assert usage_in_tail(body) == (9, 0, 9)


def test_a_streams_text_is_read_from_its_events() -> None:
    lines = [
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}',
        b"",
        b'data: {"choices":[{"delta":{"content":"lo"}}]}',
        b'data: {"choices":[{"text":" there"}]}',
        b'data: {"type":"response.output_text.delta","delta":"!"}',
        b"data: [DONE]",
    ]

    assert stream_text(lines) == "Hello there!"
