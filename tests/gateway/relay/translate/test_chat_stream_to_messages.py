"""An OpenAI chat stream turned into Anthropic Messages stream events as it arrives."""

from __future__ import annotations

from typing import Any

from gateway.relay.translate.messages_in import ChatStreamToMessages
from tests.gateway.relay.translate.streams import chat_sse, check_anthropic_order, events, run


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "choices": choices, **extra}


USAGE = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}


def translate(stream: bytes) -> tuple[list[tuple[str, Any]], ChatStreamToMessages]:
    made: list[ChatStreamToMessages] = []

    def make() -> ChatStreamToMessages:
        made.append(ChatStreamToMessages("claude-x"))
        return made[-1]

    return events(run(make, stream)), made[-1]


def test_a_text_stream() -> None:
    stream = chat_sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        chunk(None, usage=USAGE),
        "[DONE]",
    )
    out, translator = translate(stream)
    check_anthropic_order(out)
    assert out == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_s1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-x",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hel"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "lo"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"input_tokens": 11, "output_tokens": 4},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    assert translator.usage == (11, 4, 15)
    assert translator.text == "Hello"


def test_events_go_out_as_they_arrive() -> None:
    translator = ChatStreamToMessages("m")
    first = translator.feed(chat_sse(chunk({"content": "Hi"})))
    assert [name for name, _ in events(first)] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
    ]
    # Half a chunk: nothing yet; its end brings it out.
    whole = chat_sse(chunk({"content": " there"}))
    assert translator.feed(whole[:20]) == b""
    assert [name for name, _ in events(translator.feed(whole[20:]))] == ["content_block_delta"]


def test_tool_calls_stream_as_input_json_deltas_one_block_each() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return {"tool_calls": [{"index": index, **fields}]}

    stream = chat_sse(
        chunk({"role": "assistant", "content": "Checking."}),
        chunk(
            call(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""})
        ),
        chunk(call(0, function={"arguments": '{"city": '})),
        chunk(call(0, function={"arguments": '"Oslo"}'})),
        chunk(
            call(1, id="call_b", type="function", function={"name": "get_time", "arguments": "{}"})
        ),
        chunk({}, "tool_calls"),
        chunk(None, usage=USAGE),
        "[DONE]",
    )
    out, translator = translate(stream)
    check_anthropic_order(out)
    starts = [data for name, data in out if name == "content_block_start"]
    assert [start["content_block"] for start in starts] == [
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}},
        {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}},
    ]
    json_deltas = [
        (data["index"], data["delta"]["partial_json"])
        for name, data in out
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
    ]
    assert json_deltas == [(1, '{"city": '), (1, '"Oslo"}'), (2, "{}")]
    assert out[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert translator.text == 'Checking.{"city": "Oslo"}{}'


def test_reasoning_streams_as_a_thinking_block() -> None:
    stream = chat_sse(
        chunk({"reasoning_content": "Let me think"}),
        chunk({"content": "42"}),
        chunk({}, "stop"),
        "[DONE]",
    )
    out, _ = translate(stream)
    check_anthropic_order(out)
    starts = [data["content_block"]["type"] for name, data in out if name == "content_block_start"]
    assert starts == ["thinking", "text"]
    assert out[2][1]["delta"] == {"type": "thinking_delta", "thinking": "Let me think"}


def test_usage_in_the_finish_chunk_ends_the_message_at_once() -> None:
    translator = ChatStreamToMessages("m")
    out = translator.feed(chat_sse(chunk({"content": "x"}), chunk({}, "length", usage=USAGE)))
    parsed = events(out)
    check_anthropic_order(parsed)
    assert parsed[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert translator.feed(chat_sse("[DONE]")) == b""
    assert translator.finish() == b""


def test_without_done_finish_closes_the_message() -> None:
    stream = chat_sse(chunk({"content": "cut"}))
    out, translator = translate(stream)
    check_anthropic_order(out)
    assert out[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 0},
    }
    assert translator.usage is None


def test_a_stop_sequence_named_by_the_upstream() -> None:
    stream = chat_sse(
        chunk({"content": "a"}),
        {
            "id": "x",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "stop_reason": "END"}],
        },
        "[DONE]",
    )
    out, _ = translate(stream)
    assert out[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_an_error_in_the_stream_becomes_an_anthropic_error_event() -> None:
    stream = chat_sse(
        chunk({"content": "partial"}),
        {"error": {"message": "The server had an error", "type": "server_error"}},
        chunk({"content": "ignored"}),
    )
    out, _ = translate(stream)
    assert out[-1] == (
        "error",
        {"type": "error", "error": {"type": "api_error", "message": "The server had an error"}},
    )
    assert [name for name, _ in out].count("error") == 1


def test_a_stream_ending_before_any_chunk_is_an_error() -> None:
    translator = ChatStreamToMessages("m")
    assert translator.feed(b": keep-alive\n\n") == b""
    ((name, data),) = events(translator.finish())
    assert name == "error" and data["error"]["type"] == "api_error"


def test_crlf_streams_and_comments_translate_the_same() -> None:
    stream = chat_sse(chunk({"content": "a"}), chunk({}, "stop"), "[DONE]")
    lf, _ = translate(stream)
    crlf, _ = translate(b": ping\r\n\r\n" + stream.replace(b"\n", b"\r\n"))
    assert lf == crlf


def test_cached_prompt_tokens_are_reported_as_cache_reads() -> None:
    usage = {**USAGE, "prompt_tokens_details": {"cached_tokens": 8}}
    stream = chat_sse(
        chunk({"content": "a"}), chunk({}, "stop"), chunk(None, usage=usage), "[DONE]"
    )
    out, translator = translate(stream)
    assert out[-2][1]["usage"] == {
        "input_tokens": 3,
        "output_tokens": 4,
        "cache_read_input_tokens": 8,
    }
    assert translator.usage == (11, 4, 15)


def test_calls_all_numbered_0_or_without_index_are_told_apart_by_id() -> None:
    def call(**fields: Any) -> dict[str, Any]:
        return {"tool_calls": [fields]}

    for index in ({"index": 0}, {}):
        stream = chat_sse(
            chunk(call(id="a", function={"name": "f", "arguments": '{"x": 1}'}, **index)),
            chunk(call(id="a", function={"arguments": ""}, **index)),
            chunk(call(id="b", function={"name": "g", "arguments": "{}"}, **index)),
            chunk({}, "tool_calls"),
            "[DONE]",
        )
        out, _ = translate(stream)
        check_anthropic_order(out)
        starts = [data["content_block"] for name, data in out if name == "content_block_start"]
        assert [(block["id"], block["name"]) for block in starts] == [("a", "f"), ("b", "g")]
