"""POST /api/channels"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import db_snapshot, error_of
from tests.support.channels import count_encryptions
from tests.support.factories import CHANNEL_KEY, NEW_CHANNEL

pytestmark = pytest.mark.django_db

AZURE = "https://r.openai.azure.com"
# A trailing slash, to see the address stored without it.
MINIMAL = {**NEW_CHANNEL, "base_url": "https://api.example.net/v1/"}


def post(api: Client, body: Any) -> Any:
    return api.post("/api/channels", data=body, content_type="application/json")


def test_it_creates_a_channel_with_defaults(api: Client) -> None:
    response = post(api, MINIMAL)
    assert response.status_code == 201
    body = response.json()
    channel = Channel.objects.get()
    assert body["id"] == channel.pk
    assert body["base_url"] == "https://api.example.net/v1"
    assert body["type"] == "openai"
    assert body["groups"] == ["default"]
    assert body["weight"] == 1
    assert body["priority"] == 0
    assert body["status"] == "enabled"
    assert body["model_mapping"] == {}
    assert body["test_model"] == "gpt-4o-mini"
    assert body["key"] == "sk-…WXYZ"
    assert channel.api_key == CHANNEL_KEY


def test_it_never_returns_the_key(api: Client) -> None:
    response = post(api, MINIMAL)
    assert response.status_code == 201
    assert CHANNEL_KEY.encode() not in response.content
    assert CHANNEL_KEY[3:-4].encode() not in response.content


def test_it_accepts_every_field(api: Client) -> None:
    response = post(
        api,
        {
            **MINIMAL,
            "type": "openai",
            "models": ["a", "b", "a", " c "],
            "groups": ["vip", "default"],
            "weight": 0,
            "priority": -3,
            "status": "disabled",
            "model_mapping": {"alias": "a"},
            "test_model": "b",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["models"] == ["a", "b", "c"]
    assert body["groups"] == ["vip", "default"]
    assert (body["weight"], body["priority"]) == (0, -3)
    assert body["status"] == "disabled"
    assert body["status_changed_at"] is not None
    assert body["model_mapping"] == {"alias": "a"}
    assert body["test_model"] == "b"


def test_it_tells_the_relay(api: Client) -> None:
    before = db_snapshot()["relay_version"] or 0
    post(api, MINIMAL)
    assert db_snapshot()["relay_version"] > before


def assert_rejected(api: Client, body: Any, bad: dict[str, str]) -> dict[str, Any]:
    """400 naming exactly the `bad` fields (each message containing the given words)."""
    before = db_snapshot()
    response = post(api, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == set(bad)
    assert error["param"] in bad
    for field, words in bad.items():
        assert field in error["message"]
        assert any(words in message for message in error["fields"][field]), error["fields"]
    assert db_snapshot() == before
    assert CHANNEL_KEY.encode() not in response.content
    return error


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"base_url": "not a url"}, {"base_url": "http"}),
        ({"base_url": "ftp://files.example.net"}, {"base_url": "http"}),
        ({"base_url": 42}, {"base_url": "URL"}),
        ({"weight": -1}, {"weight": "at least 0"}),
        ({"weight": "heavy"}, {"weight": "whole number"}),
        ({"weight": 1.5}, {"weight": "whole number"}),
        ({"weight": True}, {"weight": "whole number"}),
        ({"priority": "high"}, {"priority": "whole number"}),
        ({"model_mapping": ["a", "b"]}, {"model_mapping": "JSON object"}),
        ({"model_mapping": "a=b"}, {"model_mapping": "JSON object"}),
        ({"model_mapping": {"a": 1}}, {"model_mapping": "must map to a string"}),
        ({"model_mapping": {"a": {"b": "c"}}}, {"model_mapping": "must map to a string"}),
        ({"model_mapping": {"a": "b", "b": "a"}}, {"model_mapping": "cycle"}),
        ({"model_mapping": {"a": "a"}}, {"model_mapping": "cycle"}),
        ({"status": "paused"}, {"status": "Unknown status"}),
        ({"type": "gemini"}, {"type": "Unknown type"}),
        ({"type": "anthropic"}, {"base_url": "ends before /v1"}),
        ({"type": "azure", "base_url": AZURE}, {"api_version": "needs an API version"}),
        ({"api_version": "2024-10-21"}, {"api_version": "Only Azure OpenAI"}),
        ({"type": "azure", "base_url": AZURE, "api_version": "latest"}, {"api_version": "2024"}),
        (
            {"type": "azure", "base_url": AZURE + "/openai", "api_version": "2024-10-21"},
            {"base_url": "resource endpoint"},
        ),
        (
            {"type": "azure", "base_url": "http://r.openai.azure.com", "api_version": "2024-10-21"},
            {"base_url": "https://"},
        ),
        ({"key_mode": "sometimes"}, {"key_mode": "Unknown key mode"}),
        ({"keys": ["sk-fine-key-0000000000", "has spaces"]}, {"keys": "Key 2"}),
        ({"keys": [7]}, {"keys": "Key 1"}),
        ({"keys": {"a": 1}}, {"keys": "list of keys"}),
        ({"keys": ["sk-other-key-000000000000"]}, {"keys": "not both"}),
        ({"colour": "red"}, {"colour": "Unknown field"}),
        ({"models": []}, {"models": "required"}),
        ({"models": "gpt-4o"}, {}),
        ({"models": [1, 2]}, {"models": "list of strings"}),
        ({"groups": []}, {"groups": "At least one"}),
        ({"key": "has spaces inside"}, {"key": "without spaces"}),
        ({"name": "x" * 101}, {"name": "100"}),
        ({"test_model": 7}, {"test_model": "string"}),
    ],
)
def test_it_names_the_bad_field(api: Client, changes: dict[str, Any], bad: dict[str, str]) -> None:
    if not bad:
        # A comma-separated string is accepted for forms; the API takes it too.
        assert post(api, {**MINIMAL, **changes}).status_code == 201
        return
    assert_rejected(api, {**MINIMAL, **changes}, bad)


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("name", "required"),
        ("base_url", "required"),
        ("key", "at least one key"),
        ("models", "required"),
    ],
)
def test_it_requires_the_required_fields(api: Client, field: str, words: str) -> None:
    body = {k: v for k, v in MINIMAL.items() if k != field}
    assert_rejected(api, body, {field: words})


def test_it_names_every_bad_field_at_once(api: Client) -> None:
    error = assert_rejected(
        api,
        {"name": "", "base_url": "nope", "key": CHANNEL_KEY, "weight": -5, "extra": 1},
        {
            "name": "required",
            "base_url": "http",
            "models": "required",
            "weight": "at least 0",
            "extra": "Unknown field",
        },
    )
    assert error["message"].startswith("Invalid request.")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'"a string"', "invalid_json"),
        (b"null", "invalid_json"),
    ],
)
def test_it_rejects_bodies_that_are_not_json_objects(api: Client, body: bytes, code: str) -> None:
    before = db_snapshot()
    response = api.post("/api/channels", data=body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert db_snapshot() == before


def test_it_rejects_form_posts(api: Client) -> None:
    response = api.post("/api/channels", data=MINIMAL)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert not Channel.objects.exists()


def test_it_rejects_a_body_over_the_upload_limit(api: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = post(api, {**MINIMAL, "name": "x" * 2000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    assert not Channel.objects.exists()


def test_it_encrypts_the_key_once(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted = count_encryptions(monkeypatch)
    assert post(api, MINIMAL).status_code == 201
    assert encrypted == [CHANNEL_KEY]
