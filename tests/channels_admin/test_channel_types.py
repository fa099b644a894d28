"""Channel types (OpenAI-compatible, Anthropic, Azure OpenAI): each one's address and API
version rules, in the API, the form and the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import error_of
from tests.support.channels import add_form, edit_form, form_cleaned, form_errors
from tests.support.factories import NEW_CHANNEL, make_channel

pytestmark = pytest.mark.django_db

CLAUDE = {**NEW_CHANNEL, "type": "anthropic", "base_url": "https://api.anthropic.com/"}
AZURE = {
    **NEW_CHANNEL,
    "type": "azure",
    "base_url": "https://my-resource.openai.azure.com",
    "api_version": "2024-10-21",
}


def post(api: Client, body: Any) -> Any:
    return api.post("/api/channels", data=body, content_type="application/json")


def test_the_api_creates_an_anthropic_channel(api: Client) -> None:
    response = post(api, CLAUDE)
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["base_url"], body["api_version"]) == (
        "anthropic",
        "https://api.anthropic.com",
        "",
    )


def test_the_api_creates_an_azure_channel_with_its_api_version(api: Client) -> None:
    response = post(api, {**AZURE, "model_mapping": {"gpt-4o": "gpt4o-prod"}})
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["api_version"]) == ("azure", "2024-10-21")
    assert Channel.objects.get().api_version == "2024-10-21"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({**CLAUDE, "base_url": "https://api.anthropic.com/v1"}, "base_url", "before /v1"),
        ({**CLAUDE, "api_version": "2024-10-21"}, "api_version", "Only Azure"),
        ({**AZURE, "api_version": ""}, "api_version", "needs an API version"),
        ({**AZURE, "api_version": "2024-10-21-preview!"}, "api_version", "such as"),
        ({**AZURE, "base_url": "https://r.openai.azure.com/v1"}, "base_url", "resource endpoint"),
        (
            {**AZURE, "base_url": "https://r.openai.azure.com/openai/deployments/x"},
            "base_url",
            "resource endpoint",
        ),
        ({**AZURE, "base_url": "http://r.openai.azure.com"}, "base_url", "https://"),
        # The existing safety rules hold for every type.
        ({**AZURE, "base_url": "https://u:p@r.openai.azure.com"}, "base_url", "user name"),
        ({**CLAUDE, "base_url": "https://api.anthropic.com?x=1"}, "base_url", "query"),
    ],
)
def test_each_type_has_its_own_rules(values: dict[str, Any], field: str, words: str) -> None:
    errors = form_errors(values)
    assert list(errors) == [field]
    assert words in errors[field][0]


def test_an_azure_preview_version_and_a_local_http_address_are_fine() -> None:
    values = {**AZURE, "base_url": "http://127.0.0.1:8080", "api_version": "2025-04-01-preview"}
    cleaned = form_cleaned(values)
    assert (cleaned["base_url"], cleaned["api_version"]) == (
        "http://127.0.0.1:8080",
        "2025-04-01-preview",
    )


def test_a_patch_is_judged_with_the_stored_values(api: Client) -> None:
    azure = make_channel(**{**AZURE, "key": "sk-azure-key-000000000000"})
    # Only the version: still Azure, so a version it must have.
    response = api.patch(
        f"/api/channels/{azure.pk}", data={"api_version": ""}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "needs an API version" in error_of(response)["fields"]["api_version"][0]


def test_leaving_azure_drops_the_api_version(api: Client) -> None:
    azure = make_channel(**{**AZURE, "key": "sk-azure-key-000000000000"})
    response = api.patch(
        f"/api/channels/{azure.pk}",
        data={"type": "openai", "base_url": "https://api.example.net/v1", "key": "sk-new-k-12345"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["type"], response.json()["api_version"]) == ("openai", "")


def test_the_add_page_offers_every_type(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/").content.decode()
    for value, label in (
        ("openai", "OpenAI-compatible"),
        ("anthropic", "Anthropic"),
        ("azure", "Azure OpenAI"),
    ):
        assert f'<option value="{value}"' in body and f">{label}</option>" in body
    assert 'name="api_version"' in body


def test_the_add_page_saves_an_azure_channel(staff_client: Client) -> None:
    response = staff_client.post(
        "/channels/add/",
        add_form(
            type="azure",
            base_url="https://my-resource.openai.azure.com/",
            api_version="2024-10-21",
        ),
    )
    assert response.status_code == 302
    saved = Channel.objects.get()
    assert (saved.type, saved.base_url, saved.api_version) == (
        "azure",
        "https://my-resource.openai.azure.com",
        "2024-10-21",
    )


def test_the_add_page_shows_a_type_rule_beside_the_address(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/add/", add_form(type="anthropic", base_url="https://api.anthropic.com/v1")
    ).content.decode()
    assert 'id="id_base_url_errors"><li>An Anthropic address ends before /v1' in body
    assert not Channel.objects.exists()


def test_the_edit_page_shows_the_api_version(staff_client: Client) -> None:
    azure = make_channel(**{**AZURE, "key": "sk-azure-key-000000000000"})
    body = staff_client.get(f"/channels/{azure.pk}/").content.decode()
    assert 'value="2024-10-21"' in body
    assert '<option value="azure" selected>' in body
    response = staff_client.post(
        f"/channels/{azure.pk}/", edit_form(azure, api_version="2025-01-01-preview")
    )
    assert response.status_code == 302
    azure.refresh_from_db()
    assert azure.api_version == "2025-01-01-preview"


def test_the_list_names_each_type(staff_client: Client) -> None:
    make_channel(**{**CLAUDE, "name": "Claude"})
    make_channel(**{**AZURE, "name": "Azure", "key": "sk-azure-key-000000000000"})
    body = staff_client.get("/channels/").content.decode()
    assert '<div class="muted small">Anthropic</div>' in body
    assert '<div class="muted small">Azure OpenAI</div>' in body
    filtered = staff_client.get("/channels/?type=anthropic").content.decode()
    assert "Claude" in filtered
