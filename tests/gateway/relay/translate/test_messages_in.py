"""Anthropic Messages request to OpenAI chat, and the chat answer back as a Message."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.relay.translate.errors import TranslationError
from gateway.relay.translate.messages_in import chat_to_message, messages_to_chat_request

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def request(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}],
        **fields,
    }


def test_a_plain_request_maps_its_fields_and_drops_the_unknown() -> None:
    chat = messages_to_chat_request(
        request(
            system="Be brief.",
            stop_sequences=["END"],
            temperature=0.5,
            top_p=0.9,
            top_k=5,
            metadata={"user_id": "u-1"},
            thinking={"type": "enabled", "budget_tokens": 1000},
        )
    )
    assert chat == {
        "model": "claude-x",
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "stop": ["END"],
        "temperature": 0.5,
        "top_p": 0.9,
        "user": "u-1",
    }


def test_system_text_blocks_are_joined() -> None:
    chat = messages_to_chat_request(
        request(
            system=[
                {"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Two."},
            ]
        )
    )
    assert chat["messages"][0] == {"role": "system", "content": "One.\n\nTwo."}


def test_a_stream_asks_for_usage() -> None:
    chat = messages_to_chat_request(request(stream=True))
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}


def test_images_become_image_urls() -> None:
    chat = messages_to_chat_request(
        request(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                        {"type": "text", "text": "What are these?"},
                    ],
                }
            ]
        )
    )
    assert chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
                {"type": "text", "text": "What are these?"},
            ],
        }
    ]


def test_documents_become_text_or_pdf_files() -> None:
    chat = messages_to_chat_request(
        request(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "source": {"type": "text", "data": "plain"}},
                        {
                            "type": "document",
                            "title": "a.pdf",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": "JVBE",
                            },
                        },
                    ],
                }
            ]
        )
    )
    assert chat["messages"][0]["content"] == [
        {"type": "text", "text": "plain"},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        },
    ]


def test_a_tool_call_round_trip() -> None:
    # 1. The client's request with tools goes to the upstream as functions.
    first = messages_to_chat_request(request(tools=[WEATHER_TOOL], tool_choice={"type": "auto"}))
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER_TOOL["input_schema"],
            },
        }
    ]
    assert first["tool_choice"] == "auto"

    # 2. The upstream calls the tool; the client sees a tool_use block.
    answer = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "model": "gpt-x",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
    }
    message = chat_to_message(answer, "claude-x")
    assert message == {
        "id": "msg_abc123",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 9},
    }

    # 3. The client answers with the tool's result; the upstream gets a tool message.
    follow_up = messages_to_chat_request(
        request(
            tools=[WEATHER_TOOL],
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant", "content": message["content"]},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "Sunny, 20C"},
                        {"type": "text", "text": "And tomorrow?"},
                    ],
                },
            ],
        )
    )
    assert follow_up["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 20C"},
        {"role": "user", "content": "And tomorrow?"},
    ]


def test_tool_results_with_blocks_errors_and_images() -> None:
    chat = messages_to_chat_request(
        request(
            messages=[
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "tool_use", "id": "t1", "name": "a", "input": {}},
                        {"type": "tool_use", "id": "t2", "name": "b", "input": {"x": 1}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [
                                {"type": "text", "text": "line 1"},
                                {"type": "text", "text": "line 2"},
                                {
                                    "type": "image",
                                    "source": {"type": "url", "url": "https://x.test/p.png"},
                                },
                            ],
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": "no such file",
                            "is_error": True,
                        },
                    ],
                },
            ]
        )
    )
    assistant, tool_1, tool_2, images = chat["messages"]
    assert assistant["content"] is None
    assert [call["id"] for call in assistant["tool_calls"]] == ["t1", "t2"]
    assert assistant["tool_calls"][0]["function"]["arguments"] == "{}"
    assert tool_1 == {"role": "tool", "tool_call_id": "t1", "content": "line 1\nline 2"}
    assert tool_2 == {"role": "tool", "tool_call_id": "t2", "content": "Error: no such file"}
    assert images == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Images returned by tool call t1:"},
            {"type": "image_url", "image_url": {"url": "https://x.test/p.png"}},
        ],
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_maps(choice: dict[str, Any], expected: object) -> None:
    chat = messages_to_chat_request(request(tools=[WEATHER_TOOL], tool_choice=choice))
    assert chat["tool_choice"] == expected
    assert "parallel_tool_calls" not in chat


def test_disabling_parallel_tool_use_maps() -> None:
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    chat = messages_to_chat_request(request(tools=[WEATHER_TOOL], tool_choice=choice))
    assert chat["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "m", "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": 0, "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": True, "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": 5}, "messages"),
        ({"max_tokens": 5, "messages": []}, "model"),
        (request(messages=[{"role": "system", "content": "x"}]), "messages.0.role"),
        (request(messages=[{"role": "user"}]), "messages.0.content"),
        (
            request(messages=[{"role": "user", "content": [{"type": "video"}]}]),
            "messages.0.content.0.type",
        ),
        (
            request(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "messages.0.content.0.text",
        ),
        (
            request(messages=[{"role": "assistant", "content": [{"type": "image", "source": {}}]}]),
            "messages.0.content.0.type",
        ),
        (
            request(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            ),
            "messages.0.content.0.source",
        ),
        (
            request(messages=[{"role": "user", "content": [{"type": "tool_result"}]}]),
            "messages.0.content.0.tool_use_id",
        ),
        (request(system=[{"type": "image"}]), "system.0"),
        (request(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0"),
        (request(tool_choice={"type": "sometimes"}), "tool_choice"),
        (request(tool_choice={"type": "tool"}), "tool_choice.name"),
        (request(stop_sequences="END"), "stop_sequences"),
        (request(temperature="hot"), "temperature"),
    ],
)
def test_malformed_requests_are_refused(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as caught:
        messages_to_chat_request(payload)
    assert caught.value.param == param


def chat_answer(message: dict[str, Any], finish: str = "stop", **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("something_new", "end_turn"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons_map_to_stop_reasons(finish: str | None, stop_reason: str) -> None:
    message = chat_to_message(chat_answer({"content": "x"}, finish), "m")  # type: ignore[arg-type]
    assert (message["stop_reason"], message["stop_sequence"]) == (stop_reason, None)


def test_a_named_stop_string_is_a_stop_sequence() -> None:
    # vLLM names the stop string that ended the answer.
    message = chat_to_message(chat_answer({"content": "x"}, "stop", stop_reason="END"), "m")
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")


def test_invalid_tool_arguments_are_kept_raw() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    message = chat_to_message(
        chat_answer({"content": None, "tool_calls": [call]}, "tool_calls"), "m"
    )
    assert message["content"] == [
        {"type": "tool_use", "id": "c", "name": "f", "input": {"_raw": "{oops"}}
    ]


def test_reasoning_refusals_and_cached_tokens() -> None:
    answer = chat_answer({"content": "Answer", "reasoning_content": "Thought"})
    answer["usage"]["prompt_tokens_details"] = {"cached_tokens": 2}
    message = chat_to_message(answer, "m")
    assert message["content"] == [
        {"type": "thinking", "thinking": "Thought", "signature": ""},
        {"type": "text", "text": "Answer"},
    ]
    assert message["usage"] == {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 2}
    refused = chat_to_message(chat_answer({"content": None, "refusal": "I can't."}), "m")
    assert refused["content"] == [{"type": "text", "text": "I can't."}]
    assert refused["stop_reason"] == "refusal"


def test_an_answer_without_id_or_usage_still_makes_a_message() -> None:
    message = chat_to_message({"choices": [{"message": {"content": "hi"}}]}, "m")
    assert message["id"].startswith("msg_") and len(message["id"]) > 10
    assert message["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert message["content"] == [{"type": "text", "text": "hi"}]
