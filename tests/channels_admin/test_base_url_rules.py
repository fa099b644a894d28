"""A channel's address is a plain base URL: no credentials, query, fragment or odd characters."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from channels_admin.models import Channel
from channels_admin.validation import MAX_BASE_URL_LENGTH
from tests.support.channels import add_form, form_cleaned, form_errors
from tests.support.factories import CHANNEL_KEY, NEW_CHANNEL, make_channel
from tests.support.pages import HTMX

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


def errors_of(base_url: str) -> list[str]:
    errors = form_errors({**NEW_CHANNEL, "base_url": base_url})
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
    assert form_cleaned({**NEW_CHANNEL, "base_url": base_url})["base_url"] == base_url.rstrip("/")


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
    staff_client: Client, base_url: str, words: str
) -> None:
    response = staff_client.post("/channels/add/", add_form(base_url=base_url))
    body = response.content.decode()

    assert response.status_code == 200
    assert 'id="id_base_url_errors"><li>The address ' + words in body
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_fetch_models_refuses_credentials_in_the_address(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"base_url": "https://user:hunter2@api.example.net/v1", "key": "sk-x"},
        headers=HTMX,
    ).content.decode()
    assert "cannot hold a user name or password" in body


LEGACY = "https://user:hunter2@api.example.net/v1"


@pytest.fixture
def legacy() -> Channel:
    """A channel saved before credentials in the address were refused."""
    channel = make_channel(name="Legacy")
    Channel.objects.filter(pk=channel.pk).update(base_url=LEGACY)
    channel.refresh_from_db()
    return channel


@pytest.mark.django_db
def test_an_old_password_in_the_address_is_never_shown(
    staff_client: Client, legacy: Channel
) -> None:
    listing = staff_client.get("/channels/").content.decode()
    edit = staff_client.get(f"/channels/{legacy.pk}/").content.decode()
    searched = staff_client.get("/channels/?q=hunter2").content.decode()

    assert "https://api.example.net/v1" in listing
    assert "hunter2" not in listing + edit
    assert "Legacy" not in searched


@pytest.mark.django_db
def test_fixing_an_old_address_needs_the_key_and_logs_no_password(
    staff_client: Client, legacy: Channel
) -> None:
    data = add_form(name="Legacy", base_url="https://api.example.net/v1", keys="")
    data["channel"] = str(legacy.pk)
    body = staff_client.post(f"/channels/{legacy.pk}/", data).content.decode()
    assert "enter the API key again" in body

    data["add_keys"] = CHANNEL_KEY
    assert staff_client.post(f"/channels/{legacy.pk}/", data).status_code == 302
    assert Channel.objects.get(pk=legacy.pk).base_url == "https://api.example.net/v1"
    assert "hunter2" not in str(list(AuditEvent.objects.values()))
