"""What a client sees when the upstream says no: its status, OpenAI's shape, no secrets."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway


def _error_from_the_only_channel(
    gateway: Gateway, status: int, error: dict[str, Any], expected: type[openai.APIStatusError]
) -> tuple[openai.APIStatusError, FakeUpstream]:
    """What the SDK raises when the one channel answers `status` with `error`, and that
    channel's upstream."""
    with running_upstream(fail_with=(status, {"error": error})) as failing:
        make_channel(failing)
        key = make_token().key
        with pytest.raises(expected) as raised:
            gateway.client(key).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
    return raised.value, failing


def test_an_upstream_client_error_keeps_its_status_and_message(gateway: Gateway) -> None:
    refusal = {
        "message": "max_tokens is too large",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "bad_max_tokens",
    }
    raised, strict = _error_from_the_only_channel(gateway, 400, refusal, openai.BadRequestError)

    assert raised.body == {
        "message": "max_tokens is too large",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "bad_max_tokens",
    }
    assert len(strict.requests) == 1  # a client error is not retried elsewhere


def test_an_upstream_error_never_shows_the_channel_key_or_address(gateway: Gateway) -> None:
    with running_upstream(api_key="sk-the-right-key-000000000000000000") as upstream:
        # The channel holds a wrong key; this upstream echoes what it was sent.
        make_channel(upstream, key="sk-wrong-channel-key-1234567890abcdef")
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 502  # every channel failed: one clean 502 (issue 8)
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert "Incorrect API key provided" in response.json()["error"]["message"]
    assert "sk-wrong-channel-key-1234567890abcdef" not in response.text
    assert upstream.base_url.split("//")[1] not in response.text
    assert "127.0.0.1" not in response.text


def test_a_non_json_upstream_error_becomes_an_openai_error(gateway: Gateway) -> None:
    with running_upstream(fail_with=(418, "I'm a teapot")) as odd:
        make_channel(odd)
        key = make_token().key
        response = gateway.post_chat(key)

    assert response.status_code == 418
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"]


def test_a_rate_limited_last_channel_is_a_clean_503(gateway: Gateway) -> None:
    limited = {
        "message": "Rate limit reached",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    raised, _ = _error_from_the_only_channel(gateway, 429, limited, openai.InternalServerError)

    # Every channel failed (issue 8): one clean 503, the upstream's message kept.
    assert raised.status_code == 503
    assert raised.code == "upstream_rate_limited"
    assert "Rate limit reached" in raised.message


def test_upstream_response_headers_that_name_the_upstream_are_dropped(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(key)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["openai-processing-ms"] == "12"
    assert "set-cookie" not in response.headers
    assert "openai-organization" not in response.headers
    assert "x-ratelimit-remaining-requests" not in response.headers
