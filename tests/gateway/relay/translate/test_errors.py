from __future__ import annotations

import orjson
import pytest

from gateway.relay.translate.errors import (
    TranslationError,
    anthropic_error_body,
    anthropic_error_message,
    openai_error_to_anthropic,
    usage_of_message,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (502, "api_error"),
        (422, "invalid_request_error"),
    ],
)
def test_the_anthropic_error_type_follows_the_status(status: int, kind: str) -> None:
    body = orjson.loads(anthropic_error_body(status, "Nope."))
    assert body == {"type": "error", "error": {"type": kind, "message": "Nope."}}


def test_an_openai_error_becomes_anthropic_with_the_same_message() -> None:
    body = orjson.dumps(
        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}}
    )
    assert orjson.loads(openai_error_to_anthropic(body)) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Rate limit reached"},
    }
    assert orjson.loads(openai_error_to_anthropic(body, status=503))["error"] == {
        "type": "api_error",
        "message": "Rate limit reached",
    }


def test_an_unknown_or_loose_openai_error_is_an_api_error() -> None:
    shaped = orjson.loads(openai_error_to_anthropic(b'{"error": {"message": "boom"}}'))
    assert shaped["error"] == {"type": "api_error", "message": "boom"}
    plain = orjson.loads(openai_error_to_anthropic(b"upstream exploded"))
    assert plain["error"]["message"] == "upstream exploded"
    string = orjson.loads(openai_error_to_anthropic(b'{"error": "bad thing"}'))
    assert string["error"]["message"] == "bad thing"


def test_it_reads_the_message_of_an_anthropic_error() -> None:
    assert anthropic_error_message(anthropic_error_body(529, "Overloaded")) == "Overloaded"
    assert anthropic_error_message(b'{"error": "x"}') is None
    assert anthropic_error_message(b"not json") is None


def test_usage_of_a_message_counts_cache_tokens_as_prompt() -> None:
    message = {
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 100,
            "output_tokens": 7,
        }
    }
    assert usage_of_message(message) == (115, 7, 122)
    assert usage_of_message({"usage": {"input_tokens": 3, "output_tokens": 4}}) == (3, 4, 7)
    assert usage_of_message({}) is None


def test_a_translation_error_carries_message_and_param() -> None:
    error = TranslationError("max_tokens: Field required", "max_tokens")
    assert isinstance(error, ValueError)
    assert (error.message, error.param) == ("max_tokens: Field required", "max_tokens")
    assert TranslationError("x").param is None
