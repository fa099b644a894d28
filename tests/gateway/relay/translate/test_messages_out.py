"""OpenAI chat request to Anthropic Messages, and the Message back as a chat completion."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.relay.translate.errors import TranslationError
from gateway.relay.translate.messages_out import chat_to_messages_request, message_to_chat

WEATHER_FUNCTION = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "claude-x", "messages": [{"role": "user", "content": "Hi"}], **fields}


def test_a_plain_request_maps_its_fields() -> None:
    anthropic = chat_to_messages_request(
        request(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Be kind."}]},
                {"role": "user", "content": "Hi"},
            ],
            stop="END",
            temperature=1.7,
            top_p=0.9,
            user="u-1",
            stream=True,
            stream_options={"include_usage": True},
            seed=3,
            presence_penalty=0.1,
        ),
        default_max_tokens=4096,
    )
    assert anthropic == {
        "model": "claude-x",
        "max_tokens": 4096,
        "system": "Be brief.\n\nBe kind.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "stop_sequences": ["END"],
        "temperature": 1.0,
        "top_p": 0.9,
        "metadata": {"user_id": "u-1"},
        "stream": True,
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 1000),
        ({"max_tokens": 50}, 50),
        ({"max_completion_tokens": 60}, 60),
        ({"max_tokens": 50, "max_completion_tokens": 60}, 60),
    ],
)
def test_max_tokens(fields: dict[str, Any], expected: int) -> None:
    assert chat_to_messages_request(request(**fields), 1000)["max_tokens"] == expected


def test_temperature_is_clamped_and_stop_lists_pass() -> None:
    anthropic = chat_to_messages_request(request(temperature=-1, stop=["a", "b", " "]), 10)
    assert anthropic["temperature"] == 0.0
    assert anthropic["stop_sequences"] == ["a", "b"]


def test_image_urls_become_image_blocks() -> None:
    anthropic = chat_to_messages_request(
        request(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is it?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://x.test/a.jpg", "detail": "low"},
                        },
                        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
                    ],
                }
            ]
        ),
        10,
    )
    assert anthropic["messages"][0]["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
    ]


def test_a_tool_call_round_trip() -> None:
    anthropic = chat_to_messages_request(
        request(
            tools=[{"type": "function", "function": WEATHER_FUNCTION}],
            tool_choice="required",
            parallel_tool_calls=False,
            messages=[
                {"role": "user", "content": "Weather in Oslo and Rome?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        },
                        {
                            "id": "toolu_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "toolu_1", "content": "Rain"},
                {
                    "role": "tool",
                    "tool_call_id": "toolu_2",
                    "content": [{"type": "text", "text": "Sun"}],
                },
                {"role": "user", "content": "Thanks. Which is warmer?"},
            ],
        ),
        10,
    )
    assert anthropic["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": WEATHER_FUNCTION["parameters"],
        }
    ]
    assert anthropic["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert anthropic["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Rain"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "Sun"},
                {"type": "text", "text": "Thanks. Which is warmer?"},
            ],
        },
    ]

    answer = {
        "id": "msg_01abc",
        "type": "message",
        "role": "assistant",
        "model": "claude-real",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_3", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }
    assert message_to_chat(answer, "claude-x", created=1700000000) == {
        "id": "chatcmpl-01abc",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-x",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "toolu_3",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }


def test_consecutive_turns_of_one_role_are_merged() -> None:
    anthropic = chat_to_messages_request(
        request(
            messages=[
                {"role": "user", "content": "One"},
                {"role": "system", "content": "Midway note"},
                {"role": "user", "content": "Two"},
                {"role": "assistant", "content": "A"},
                {"role": "assistant", "content": ""},
                {"role": "assistant", "content": [{"type": "text", "text": "B"}]},
            ]
        ),
        10,
    )
    assert anthropic["system"] == "Midway note"
    assert anthropic["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "One"}, {"type": "text", "text": "Two"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
        },
    ]


def test_legacy_functions_map_too() -> None:
    anthropic = chat_to_messages_request(
        request(
            functions=[WEATHER_FUNCTION],
            function_call={"name": "get_weather"},
            messages=[
                {"role": "user", "content": "Oslo?"},
                {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "get_weather", "arguments": "{}"},
                },
                {"role": "function", "name": "get_weather", "content": "Rain"},
            ],
        ),
        10,
    )
    assert anthropic["tool_choice"] == {"type": "tool", "name": "get_weather"}
    call = anthropic["messages"][1]["content"][0]
    assert call["type"] == "tool_use"
    assert anthropic["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": call["id"], "content": "Rain"}
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
def test_tool_choice_maps(choice: object, expected: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": WEATHER_FUNCTION}]
    assert (
        chat_to_messages_request(request(tools=tools, tool_choice=choice), 10)["tool_choice"]
        == expected
    )


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0"),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "messages.0.content.0.type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:nope"}}],
                    }
                ]
            },
            "messages.0.content.0",
        ),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "x"}]}]},
            "messages.0.tool_calls.0",
        ),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools"),
        ({"tool_choice": 7}, "tool_choice"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": 5}, "stop"),
        ({"model": None}, "model"),
    ],
)
def test_requests_that_cannot_be_translated_are_refused(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as caught:
        chat_to_messages_request(request(**fields), 10)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str | None, finish: str) -> None:
    message = {
        "id": "msg_1",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
    }
    chat = message_to_chat(message, "m", created=1)
    assert chat["choices"][0]["finish_reason"] == finish


def test_text_blocks_join_thinking_is_reasoning_and_cache_tokens_count_as_prompt() -> None:
    message = {
        "id": "msg_1",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "text", "text": "Part one. "},
            {"type": "text", "text": "Part two."},
        ],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 5,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 100,
            "output_tokens": 7,
        },
    }
    chat = message_to_chat(message, "m", created=1)
    assert chat["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Part one. Part two.",
        "refusal": None,
        "reasoning_content": "Hmm.",
    }
    assert chat["usage"] == {
        "prompt_tokens": 115,
        "completion_tokens": 7,
        "total_tokens": 122,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
