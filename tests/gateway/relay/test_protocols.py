"""Every client, every provider: Anthropic's SDK through /v1/messages and OpenAI's SDK, to
OpenAI-compatible, Anthropic and Azure OpenAI channels, whole and streamed, tools included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.relay.recording import usage_writer
from tests.support.factories import make_channel, make_token
from tests.support.fake_anthropic import TEXT, FakeAnthropic, running_anthropic
from tests.support.fake_azure import API_VERSION, FakeAzure, running_azure
from tests.support.fake_upstream import FakeUpstream
from tests.support.live_gateway import Gateway, serving_gateway
from tests.support.upstream_parts import TOOL_ANSWER, TOOL_ARGUMENTS, TOOL_NAME
from tests.support.usage_records import FAST, wait_for_records

WEATHER_TOOL = {
    "name": TOOL_NAME,
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "The weather in a city.",
        "parameters": WEATHER_TOOL["input_schema"],
    },
}
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def metered(transactional_db: None) -> Iterator[Gateway]:
    with serving_gateway(usage=usage_writer(**FAST)) as gateway:
        yield gateway


@pytest.fixture
def claude() -> Iterator[FakeAnthropic]:
    with running_anthropic() as upstream:
        yield upstream


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    with running_azure() as upstream:
        yield upstream


def anthropic_client(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, timeout=30)


def anthropic_channel(upstream: FakeAnthropic, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "name": "claude",
        "type": "anthropic",
        "base_url": upstream.base_url,
        "key": upstream.api_key,
        "models": list(upstream.models),
    }
    make_channel(**{**fields, **overrides})


def azure_channel(upstream: FakeAzure) -> None:
    make_channel(
        name="azure",
        type="azure",
        base_url=upstream.base_url,
        api_version=API_VERSION,
        key=upstream.api_key,
        models=["gpt-4o"],
        model_mapping={"gpt-4o": "gpt4o-prod"},  # the deployment's name
    )


# --- Anthropic's SDK through /v1/messages to an OpenAI-compatible channel


def test_messages_reach_an_openai_channel_translated(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    reply = anthropic_client(metered, key).messages.create(
        model="gpt-4o-mini",
        max_tokens=100,
        system="Be brief.",
        messages=HELLO,
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
    )

    assert reply.model == "gpt-4o-mini"
    assert [block.type for block in reply.content] == ["text"]
    assert reply.content[0].text == "hello from upstream"
    assert reply.stop_reason == "end_turn"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (5, 3)
    sent = upstream.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.json()["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (sent.json()["stop"], sent.json()["user"]) == (["END"], "u-1")
    [record] = wait_for_records(1)
    assert (record.endpoint, record.status, record.total_tokens) == ("/v1/messages", 200, 8)


def test_a_streamed_message_from_an_openai_channel_arrives_as_anthropic_events(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    with anthropic_client(metered, key).messages.stream(
        model="gpt-4o-mini", max_tokens=100, messages=HELLO
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()

    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds
    assert final.content[0].text == "part0 part1 part2 "
    assert final.usage.output_tokens == 3
    assert upstream.requests[0].json()["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("streamed", [False, True])
def test_a_tool_call_round_trip_through_an_openai_channel(
    metered: Gateway, upstream: FakeUpstream, streamed: bool
) -> None:
    make_channel(upstream)
    client = anthropic_client(metered, make_token().key)
    asked = {"model": "gpt-4o-mini", "max_tokens": 100, "tools": [WEATHER_TOOL]}

    first = _create(client, streamed, messages=[{"role": "user", "content": "Weather?"}], **asked)

    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert (call.type, call.name, call.input) == ("tool_use", TOOL_NAME, TOOL_ARGUMENTS)
    follow_up = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [call.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
        },
    ]
    second = _create(client, streamed, messages=follow_up, **asked)

    assert second.content[0].text == TOOL_ANSWER
    sent = upstream.requests[-1].json()["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}
    assert sent[-2]["tool_calls"][0]["function"]["name"] == TOOL_NAME


def _create(client: anthropic.Anthropic, streamed: bool, **request: Any) -> Any:
    if not streamed:
        return client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        return stream.get_final_message()


# --- Anthropic's SDK to an Anthropic channel: passed through


@pytest.mark.parametrize("streamed", [False, True])
def test_messages_pass_through_to_an_anthropic_channel(
    metered: Gateway, claude: FakeAnthropic, streamed: bool
) -> None:
    anthropic_channel(
        claude, models=["claude-fast"], model_mapping={"claude-fast": "claude-haiku-4-5"}
    )
    client = anthropic_client(metered, make_token().key)

    reply = _create(client, streamed, model="claude-fast", max_tokens=50, messages=HELLO)

    assert reply.content[0].text == TEXT
    assert reply.model == "claude-fast"  # the mapped name never reaches the client
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (12, 7)
    sent = claude.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == claude.api_key
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"]
    assert sent.json()["model"] == "claude-haiku-4-5"
    [record] = wait_for_records(1)
    assert (record.prompt_tokens, record.completion_tokens, record.stream) == (12, 7, streamed)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_tool_call_round_trip_through_an_anthropic_channel(
    metered: Gateway, claude: FakeAnthropic, streamed: bool
) -> None:
    anthropic_channel(claude)
    client = anthropic_client(metered, make_token().key)
    asked = {"model": "claude-sonnet-4-5", "max_tokens": 100, "tools": [WEATHER_TOOL]}

    first = _create(client, streamed, messages=[{"role": "user", "content": "Weather?"}], **asked)

    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert (call.name, call.input) == (TOOL_NAME, TOOL_ARGUMENTS)
    follow_up = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [call.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
        },
    ]
    second = _create(client, streamed, messages=follow_up, **asked)

    assert second.content[0].text == TOOL_ANSWER
    assert claude.requests[-1].json()["messages"][-1]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize(("given", "sent"), [("2023-01-01", "2023-01-01"), (None, "2023-06-01")])
def test_the_clients_anthropic_version_is_kept_or_a_current_one_sent(
    metered: Gateway, claude: FakeAnthropic, given: str | None, sent: str
) -> None:
    anthropic_channel(claude)
    headers = {"x-api-key": make_token().key, "anthropic-beta": "tools-2024"}
    if given:
        headers["anthropic-version"] = given

    response = httpx.post(
        metered.url + "/v1/messages",
        headers=headers,
        json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HELLO},
    )

    assert response.status_code == 200
    assert claude.requests[0].headers["anthropic-version"] == sent
    assert claude.requests[0].headers["anthropic-beta"] == "tools-2024"


def test_count_tokens_is_forwarded_to_an_anthropic_channel(
    metered: Gateway, claude: FakeAnthropic
) -> None:
    anthropic_channel(claude)
    client = anthropic_client(metered, make_token().key)

    counted = client.messages.count_tokens(model="claude-sonnet-4-5", messages=HELLO)

    assert counted.input_tokens == 42
    assert claude.requests[0].path == "/v1/messages/count_tokens"


def test_count_tokens_is_estimated_for_an_openai_channel(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    client = anthropic_client(metered, make_token().key)

    counted = client.messages.count_tokens(model="gpt-4o-mini", messages=HELLO)

    assert counted.input_tokens > 0
    assert upstream.requests == []


# --- OpenAI's SDK to an Anthropic channel: translated


def test_chat_reaches_an_anthropic_channel_translated(
    metered: Gateway, claude: FakeAnthropic
) -> None:
    anthropic_channel(claude)
    client = metered.client(make_token().key)

    reply = client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
    )

    assert reply.choices[0].message.content == TEXT
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens == 19
    sent = claude.requests[0].json()
    assert sent["system"] == "Be brief."
    assert sent["max_tokens"] == 4096  # Anthropic requires it; the client gave none


def test_a_streamed_chat_from_an_anthropic_channel_arrives_as_openai_chunks(
    metered: Gateway, claude: FakeAnthropic
) -> None:
    anthropic_channel(claude)
    client = metered.client(make_token().key)

    chunks = list(
        client.chat.completions.create(
            model="claude-sonnet-4-5",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 19
    [record] = wait_for_records(1)
    assert (record.prompt_tokens, record.completion_tokens, record.estimated) == (12, 7, False)


@pytest.mark.parametrize("streamed", [False, True])
def test_an_openai_tool_call_through_an_anthropic_channel(
    metered: Gateway, claude: FakeAnthropic, streamed: bool
) -> None:
    anthropic_channel(claude)
    client = metered.client(make_token().key)
    asked: dict[str, Any] = {"model": "claude-sonnet-4-5", "tools": [OPENAI_WEATHER_TOOL]}
    messages: list[Any] = [{"role": "user", "content": "Weather?"}]

    if streamed:
        with client.chat.completions.stream(messages=messages, **asked) as stream:
            first = stream.get_final_completion()
    else:
        first = client.chat.completions.create(messages=messages, **asked)

    [call] = first.choices[0].message.tool_calls or []
    assert call.function.name == TOOL_NAME
    assert json.loads(call.function.arguments) == TOOL_ARGUMENTS
    assert first.choices[0].finish_reason == "tool_calls"
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(messages=messages, **asked)
    assert second.choices[0].message.content == TOOL_ANSWER
    last = claude.requests[-1].json()["messages"][-1]
    assert last["content"][0]["type"] == "tool_result"


# --- OpenAI's SDK to an Azure OpenAI channel


@pytest.mark.parametrize("streamed", [False, True])
def test_chat_reaches_an_azure_deployment(
    metered: Gateway, azure: FakeAzure, streamed: bool
) -> None:
    azure_channel(azure)
    client = metered.client(make_token().key)

    if streamed:
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "part0 part1 part2 "
        assert {c.model for c in chunks} == {"gpt-4o"}
    else:
        reply = client.chat.completions.create(model="gpt-4o", messages=HELLO)
        assert reply.choices[0].message.content == "hello from azure"
        assert reply.model == "gpt-4o"
    sent = azure.requests[0]
    assert sent.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert sent.query == f"api-version={API_VERSION}"
    assert sent.headers["api-key"] == azure.api_key
    assert "authorization" not in sent.headers


# --- Errors on /v1/messages are in Anthropic's shape


def test_a_bad_key_on_messages_gets_anthropics_error_shape(metered: Gateway) -> None:
    response = httpx.post(
        metered.url + "/v1/messages",
        headers={"x-api-key": "sk-nope-0000000000000000", "anthropic-version": "2023-06-01"},
        json={"model": "gpt-4o-mini", "max_tokens": 10, "messages": HELLO},
    )

    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Invalid API key."},
    }


def test_the_anthropic_sdk_raises_on_an_unknown_model(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    client = anthropic_client(metered, make_token().key)

    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.create(model="nope", max_tokens=10, messages=HELLO)

    assert raised.value.body["error"]["type"] == "not_found_error"


def test_an_anthropic_upstreams_refusal_reaches_an_openai_client_in_openais_shape(
    metered: Gateway,
) -> None:
    with running_anthropic(fail_with=(400, "invalid_request_error")) as refusing:
        anthropic_channel(refusing)
        response = metered.post_chat(make_token().key, model="claude-sonnet-4-5", messages=HELLO)

    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("the upstream says no")
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_a_malformed_message_request_is_a_400_naming_the_field(
    metered: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    response = httpx.post(
        metered.url + "/v1/messages",
        headers={"x-api-key": make_token().key},
        json={"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "robot"}]},
    )

    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert upstream.requests == []


def test_a_channel_that_cannot_take_the_request_leaves_it_to_the_next(
    metered: Gateway, claude: FakeAnthropic, upstream: FakeUpstream
) -> None:
    # Both serve the model; the Anthropic one comes first but has no embeddings endpoint.
    anthropic_channel(claude, models=["gpt-4o-mini"], priority=10)
    make_channel(upstream)
    client = metered.client(make_token().key)

    answer = client.embeddings.create(model="gpt-4o-mini", input="hello")

    assert len(answer.data) == 1
    assert claude.requests == []
    [record] = wait_for_records(1)
    assert [attempt["status"] for attempt in record.attempts] == [200]


def test_no_channel_able_to_take_the_request_is_a_400(
    metered: Gateway, claude: FakeAnthropic
) -> None:
    anthropic_channel(claude)
    client = metered.client(make_token().key)

    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="claude-sonnet-4-5", input="hello")

    assert raised.value.code == "unsupported_endpoint"
    assert claude.requests == []
