""" "Fetch models" and the channel test for Anthropic and Azure OpenAI channels, against the
fake upstreams: each type's paths, headers and API version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from channels_admin.models import Channel
from channels_admin.probe import UpstreamModelsError, fetch_upstream_models, run_channel_test
from tests.support.audit import ALICE
from tests.support.channels import add_form
from tests.support.factories import make_channel
from tests.support.fake_anthropic import FakeAnthropic, running_anthropic
from tests.support.fake_azure import API_VERSION, FakeAzure, running_azure
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db


@pytest.fixture
def claude() -> Iterator[FakeAnthropic]:
    with running_anthropic() as fake:
        yield fake


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    with running_azure() as fake:
        yield fake


def claude_channel(claude: FakeAnthropic, **overrides: Any) -> Channel:
    fields: dict[str, Any] = {
        "name": "claude",
        "type": "anthropic",
        "base_url": claude.base_url,
        "key": claude.api_key,
        "models": list(claude.models),
    }
    return make_channel(**{**fields, **overrides})


def azure_channel(azure: FakeAzure, **overrides: Any) -> Channel:
    fields: dict[str, Any] = {
        "name": "azure",
        "type": "azure",
        "base_url": azure.base_url,
        "api_version": API_VERSION,
        "key": azure.api_key,
        "models": ["gpt-4o"],
        "model_mapping": {"gpt-4o": "gpt4o-prod"},
    }
    return make_channel(**{**fields, **overrides})


# --- Anthropic ---------------------------------------------------------------------------


def test_anthropic_models_are_fetched_with_its_headers(claude: FakeAnthropic) -> None:
    models = async_to_sync(fetch_upstream_models)(claude.base_url, claude.api_key, "anthropic")
    assert models == sorted(claude.models)
    [request] = claude.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["x-api-key"] == claude.api_key
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers


def test_anthropic_refusing_the_key_is_reported(claude: FakeAnthropic) -> None:
    with pytest.raises(UpstreamModelsError, match="invalid x-api-key"):
        async_to_sync(fetch_upstream_models)(claude.base_url, "sk-ant-wrong-0000000", "anthropic")


def test_an_anthropic_channel_passes_its_test_with_one_token(claude: FakeAnthropic) -> None:
    channel = claude_channel(claude)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert (result.ok, result.error, result.model) == (True, None, "claude-sonnet-4-5")
    [request] = claude.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == claude.api_key
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.json()["max_tokens"] == 1
    assert request.json()["model"] == "claude-sonnet-4-5"


def test_an_anthropic_channel_test_maps_the_model(claude: FakeAnthropic) -> None:
    channel = claude_channel(
        claude, models=["claude"], model_mapping={"claude": "claude-haiku-4-5"}
    )
    assert async_to_sync(run_channel_test)(channel, actor=ALICE).ok
    assert claude.requests[-1].json()["model"] == "claude-haiku-4-5"


def test_an_anthropic_error_is_reported(claude: FakeAnthropic) -> None:
    claude.fail_with = (529, "overloaded_error")
    channel = claude_channel(claude)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert (result.ok, result.error) == (False, "the upstream says no")
    channel.refresh_from_db()
    assert channel.status == "enabled"  # an overload is not the key's fault


# --- Azure OpenAI ------------------------------------------------------------------------


def test_azure_models_are_fetched_with_its_api_version(azure: FakeAzure) -> None:
    models = async_to_sync(fetch_upstream_models)(
        azure.base_url, azure.api_key, "azure", API_VERSION
    )
    assert models == ["gpt4o-prod"]
    [request] = azure.requests
    assert (request.method, request.path) == ("GET", "/openai/models")
    assert request.query == f"api-version={API_VERSION}"
    assert request.headers["api-key"] == azure.api_key
    assert "authorization" not in request.headers


def test_azure_with_a_wrong_api_version_is_reported(azure: FakeAzure) -> None:
    with pytest.raises(UpstreamModelsError, match="Resource not found"):
        async_to_sync(fetch_upstream_models)(azure.base_url, azure.api_key, "azure", "2023-01-01")


def test_an_azure_channel_tests_the_deployment_of_its_test_model(azure: FakeAzure) -> None:
    channel = azure_channel(azure)
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert (result.ok, result.error, result.model) == (True, None, "gpt-4o")
    [request] = azure.requests
    assert (request.method, request.path) == (
        "POST",
        "/openai/deployments/gpt4o-prod/chat/completions",
    )
    assert request.query == f"api-version={API_VERSION}"
    assert request.headers["api-key"] == azure.api_key


def test_an_azure_deployment_that_does_not_exist_fails_the_test(azure: FakeAzure) -> None:
    channel = azure_channel(azure, model_mapping={})
    result = async_to_sync(run_channel_test)(channel, actor=ALICE)
    assert result.ok is False
    assert result.error == "The API deployment does not exist."


# --- the pages ---------------------------------------------------------------------------


def test_the_add_page_fetches_anthropic_models(staff_client: Client, claude: FakeAnthropic) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"type": "anthropic", "base_url": claude.base_url, "keys": claude.api_key},
        headers=HTMX,
    ).content.decode()
    assert 'value="claude-haiku-4-5"' in body
    assert claude.api_key not in body


def test_the_add_page_fetches_azure_models_without_javascript(
    staff_client: Client, azure: FakeAzure
) -> None:
    body = staff_client.post(
        "/channels/add/",
        add_form(
            action="fetch-models",
            type="azure",
            base_url=azure.base_url,
            api_version=API_VERSION,
            keys=azure.api_key,
        ),
    ).content.decode()
    assert 'value="gpt4o-prod"> gpt4o-prod</label>' in body
    assert azure.api_key not in body
    assert not Channel.objects.exists()


def test_fetching_azure_models_needs_the_api_version(
    staff_client: Client, azure: FakeAzure
) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"type": "azure", "base_url": azure.base_url, "keys": azure.api_key},
        headers=HTMX,
    ).content.decode()
    assert "Enter the API version first." in body
    assert azure.requests == []


def test_the_edit_page_fetches_with_the_stored_key_of_its_type(
    staff_client: Client, azure: FakeAzure
) -> None:
    channel = azure_channel(azure)
    body = staff_client.post(
        "/channels/fetch-models/",
        {"channel": str(channel.pk), "type": "azure", "base_url": "", "keys": ""},
        headers=HTMX,
    ).content.decode()
    assert 'value="gpt4o-prod"' in body
    assert azure.requests[-1].headers["api-key"] == azure.api_key
    assert azure.api_key not in body


def test_the_test_button_tests_an_anthropic_channel(
    staff_client: Client, claude: FakeAnthropic
) -> None:
    channel = claude_channel(claude)
    body = staff_client.post(
        f"/channels/{channel.pk}/test/", {"fragment": "result"}, headers=HTMX
    ).content.decode()
    assert "OK in" in body and "claude-sonnet-4-5" in body
    assert claude.api_key not in body
