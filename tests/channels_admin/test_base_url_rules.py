"""A channel's address is a plain base URL: no credentials, query, fragment or odd characters."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from channels_admin.forms import ChannelForm
from channels_admin.models import Channel
from channels_admin.validation import MAX_BASE_URL_LENGTH
from tests.channels_admin.conftest import SECRET_KEY

REFUSED = [
    ("https://user:hunter2@api.example.net/v1", "user name or password"),
    ("https://hunter2@api.example.net/v1", "user name or password"),
    ("https://api.example.net/v1?api-version=1", "cannot have a query"),
    ("https://api.example.net/v1?", "cannot have a query"),
    ("https://api.example.net/v1#part", "cannot have a fragment"),
    ("https://api.example.net/v 1", "spaces or control characters"),
    ("https://api.example.net/v1\x00", "spaces or control characters"),
    ("https://api.example.net/\r\nX-Injected: 1", "spaces or control characters"),
    ("https://api.example.net/v1\x7f", "spaces or control characters"),
    ("https://api.example.net/\ud800", "spaces or control characters"),
    ("https://" + "a" * MAX_BASE_URL_LENGTH + ".net", "At most 500 characters"),
    ("ftp://api.example.net/v1", "http:// or https://"),
]


VALID = {"name": "A", "key": SECRET_KEY, "models": ["m"]}


def errors_of(base_url: str) -> list[str]:
    form = ChannelForm.from_json({**VALID, "base_url": base_url}, partial=False)
    assert not form.is_valid()
    errors = form.validation_error().message_dict
    assert list(errors) == ["base_url"]
    return errors["base_url"]


@pytest.mark.parametrize(("base_url", "words"), REFUSED)
def test_it_refuses_what_is_not_a_plain_base_url(base_url: str, words: str) -> None:
    [message] = errors_of(base_url)
    assert words in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.example.net/v1",
        "http://127.0.0.1:8080/v1/",
        "https://example.openai.azure.com/openai/deployments/cheap-dep",
        "https://api.example.net/" + "p" * (MAX_BASE_URL_LENGTH - 30),
    ],
)
def test_plain_base_urls_pass(base_url: str) -> None:
    form = ChannelForm.from_json({**VALID, "base_url": base_url}, partial=False)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["base_url"] == base_url.rstrip("/")


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Main",
        "type": "openai",
        "base_url": "https://api.example.net/v1",
        "key": SECRET_KEY,
        "models": "gpt-4o-mini",
        "groups": "default",
        "weight": "1",
        "priority": "0",
        "status": "enabled",
        "mapping_mode": "rows",
        "action": "save",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("https://user:hunter2@api.example.net/v1", "cannot hold a user name or password"),
        ("https://api.example.net/v1?key=x", "cannot have a query"),
        ("https://api.example.net/v1#x", "cannot have a fragment"),
    ],
)
def test_the_add_form_shows_the_error_beside_the_address(
    admin_client: Client, base_url: str, words: str
) -> None:
    response = admin_client.post("/channels/add/", _form(base_url=base_url))
    body = response.content.decode()

    assert response.status_code == 200
    assert 'id="id_base_url_errors"><li>The address ' + words in body
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_fetch_models_refuses_credentials_in_the_address(admin_client: Client) -> None:
    body = admin_client.post(
        "/channels/fetch-models/",
        {"base_url": "https://user:hunter2@api.example.net/v1", "key": "sk-x"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "cannot hold a user name or password" in body


LEGACY = "https://user:hunter2@api.example.net/v1"


@pytest.fixture
def legacy(make_channel: Any) -> Channel:
    """A channel saved before credentials in the address were refused."""
    channel = make_channel(name="Legacy")
    Channel.objects.filter(pk=channel.pk).update(base_url=LEGACY)
    channel.refresh_from_db()
    return channel


@pytest.mark.django_db
def test_an_old_password_in_the_address_is_never_shown(
    admin_client: Client, legacy: Channel
) -> None:
    listing = admin_client.get("/channels/").content.decode()
    edit = admin_client.get(f"/channels/{legacy.pk}/").content.decode()
    searched = admin_client.get("/channels/?q=hunter2").content.decode()

    assert "https://api.example.net/v1" in listing
    assert "hunter2" not in listing + edit
    assert "Legacy" not in searched


@pytest.mark.django_db
def test_fixing_an_old_address_needs_the_key_and_logs_no_password(
    admin_client: Client, legacy: Channel
) -> None:
    data = _form(name="Legacy", base_url="https://api.example.net/v1", key="")
    data["channel"] = str(legacy.pk)
    body = admin_client.post(f"/channels/{legacy.pk}/", data).content.decode()
    assert "enter the API key again" in body

    data["key"] = SECRET_KEY
    assert admin_client.post(f"/channels/{legacy.pk}/", data).status_code == 302
    assert Channel.objects.get(pk=legacy.pk).base_url == "https://api.example.net/v1"
    assert "hunter2" not in str(list(AuditEvent.objects.values()))
