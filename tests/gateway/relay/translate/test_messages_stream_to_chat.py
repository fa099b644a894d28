"""An Anthropic Messages stream turned into OpenAI chat completion chunks as it arrives."""

from __future__ import annotations

from typing import Any

from gateway.relay.translate.messages_out import MessagesStreamToChat
from tests.gateway.relay.translate.streams import anthropic_sse, events, run

START = {
    "type": "message_start",
    "message": {
        "id": "msg_s1",
        "type": "message",
        "role": "assistant",
        "model": "claude-real",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "output_tokens": 1},
    },
}
PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str, output_tokens: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }


def translate(stream: bytes, include_usage: bool = True) -> tuple[list[Any], MessagesStreamToChat]:
    made: list[MessagesStreamToChat] = []

    def make() -> MessagesStreamToChat:
        made.append(MessagesStreamToChat("gpt-name", include_usage=include_usage, created=1700))
        return made[-1]

    return [data for _, data in events(run(make, stream))], made[-1]


def deltas(chunks: list[Any]) -> list[Any]:
    return [
        chunk["choices"][0]["delta"]
        for chunk in chunks
        if isinstance(chunk, dict) and chunk["choices"]
    ]


TEXT_STREAM = anthropic_sse(
    START,
    block_start(0, {"type": "text", "text": ""}),
    PING,
    block_delta(0, {"type": "text_delta", "text": "Hel"}),
    block_delta(0, {"type": "text_delta", "text": "lo"}),
    block_stop(0),
    message_delta("end_turn", 9),
    STOP,
)


def test_a_text_stream_with_usage() -> None:
    chunks, translator = translate(TEXT_STREAM)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-s1",
            "object": "chat.completion.chunk",
            "created": 1700,
            "model": "gpt-name",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    assert chunks == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        {
            "id": "chatcmpl-s1",
            "object": "chat.completion.chunk",
            "created": 1700,
            "model": "gpt-name",
            "choices": [],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 9,
                "total_tokens": 39,
                "prompt_tokens_details": {"cached_tokens": 5},
            },
        },
        "[DONE]",
    ]
    assert translator.usage == (30, 9, 39)
    assert translator.text == "Hello"


def test_no_usage_chunk_unless_asked() -> None:
    chunks, translator = translate(TEXT_STREAM, include_usage=False)
    assert chunks[-1] == "[DONE]"
    assert all(chunk == "[DONE]" or chunk["choices"] for chunk in chunks)
    assert translator.usage == (30, 9, 39)  # still known to the relay for metering


def test_chunks_go_out_as_events_arrive() -> None:
    translator = MessagesStreamToChat("m", include_usage=False, created=1)
    assert len(events(translator.feed(anthropic_sse(START)))) == 1
    delta = anthropic_sse(block_delta(0, {"type": "text_delta", "text": "x"}))
    assert translator.feed(anthropic_sse(block_start(0, {"type": "text", "text": ""}))) == b""
    assert translator.feed(delta[:-1]) == b""
    assert deltas([data for _, data in events(translator.feed(delta[-1:]))]) == [{"content": "x"}]


def test_tool_use_blocks_stream_as_tool_calls() -> None:
    stream = anthropic_sse(
        START,
        block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        block_delta(0, {"type": "thinking_delta", "thinking": "Plan."}),
        block_delta(0, {"type": "signature_delta", "signature": "abc"}),
        block_stop(0),
        block_start(1, {"type": "text", "text": ""}),
        block_delta(1, {"type": "text_delta", "text": "Checking."}),
        block_stop(1),
        block_start(2, {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}),
        block_delta(2, {"type": "input_json_delta", "partial_json": ""}),
        block_delta(2, {"type": "input_json_delta", "partial_json": '{"city": '}),
        block_delta(2, {"type": "input_json_delta", "partial_json": '"Oslo"}'}),
        block_stop(2),
        block_start(3, {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}}),
        block_delta(3, {"type": "input_json_delta", "partial_json": "{}"}),
        block_stop(3),
        message_delta("tool_use", 40),
        STOP,
    )
    chunks, translator = translate(stream)
    assert deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "Plan."},
        {"content": "Checking."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {},
    ]
    finishes = [
        chunk["choices"][0]["finish_reason"]
        for chunk in chunks
        if isinstance(chunk, dict) and chunk["choices"]
    ]
    assert finishes[-1] == "tool_calls"
    assert translator.text == 'Plan.Checking.{"city": "Oslo"}{}'


def test_max_tokens_finishes_with_length() -> None:
    stream = anthropic_sse(
        START,
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "Long"}),
        block_stop(0),
        message_delta("max_tokens", 3),
        STOP,
    )
    chunks, _ = translate(stream, include_usage=False)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_an_error_event_becomes_an_openai_error() -> None:
    stream = anthropic_sse(
        START,
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "par"}),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        block_delta(0, {"type": "text_delta", "text": "ignored"}),
    )
    chunks, _ = translate(stream)
    assert chunks[-1] == {
        "error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None}
    }
    assert "[DONE]" not in chunks


def test_a_stream_cut_before_message_stop_is_closed_by_finish() -> None:
    stream = anthropic_sse(
        START,
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "cut"}),
    )
    chunks, _ = translate(stream, include_usage=False)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1] == "[DONE]"


def test_a_stream_ending_before_message_start_is_an_error() -> None:
    translator = MessagesStreamToChat("m", include_usage=True, created=1)
    assert translator.feed(anthropic_sse(PING)) == b""
    ((_, data),) = events(translator.finish())
    assert data["error"]["type"] == "api_error"
    assert translator.finish() == b""


def test_crlf_streams_translate_the_same() -> None:
    lf, _ = translate(TEXT_STREAM)
    crlf, _ = translate(TEXT_STREAM.replace(b"\n", b"\r\n"))
    assert lf == crlf
