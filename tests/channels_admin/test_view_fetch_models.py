from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.factories import make_channel
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from tests.support.servers import closed_url

pytestmark = pytest.mark.django_db
URL = "/channels/fetch-models/"
WRONG_KEY = "sk-wrong-key-for-fetching-1111"


def _offered(body: str, model: str) -> bool:
    return f'<input type="checkbox" name="fetched_models" value="{model}">' in body


def test_it_sends_anonymous_visitors_to_login(upstream: Any) -> None:
    assert_login_redirect(Client().post(URL, {"base_url": upstream.v1}), URL)
    assert upstream.requests == []


def test_it_refuses_non_staff(plain_client: Client, upstream: Any) -> None:
    response = plain_client.post(URL, {"base_url": upstream.v1, "key": upstream.api_key})
    assert_forbidden(response)
    assert upstream.requests == []


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(URL).status_code == 405


def test_it_offers_the_upstreams_models(staff_client: Client, upstream: Any) -> None:
    response = staff_client.post(
        URL, {"base_url": upstream.v1, "key": upstream.api_key, "models": ""}, headers=HTMX
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith('<div id="fetched-models"')
    assert _offered(body, "gpt-4o-mini")
    assert _offered(body, "text-embedding-3-small")
    assert '<input type="hidden" name="offered_models" value="gpt-4o-mini">' in body
    assert upstream.requests[-1].path == "/v1/models"
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {upstream.api_key}"
    assert upstream.api_key not in body


def test_models_already_listed_are_marked(staff_client: Client, upstream: Any) -> None:
    body = staff_client.post(
        URL,
        {
            "base_url": upstream.v1,
            "key": upstream.api_key,
            "models": "gpt-4o-mini, other",
            "fetched_models": ["text-embedding-3-small"],
        },
        headers=HTMX,
    ).content.decode()

    assert "✓ gpt-4o-mini" in body
    assert not _offered(body, "gpt-4o-mini")
    # A box ticked before stays ticked.
    assert 'value="text-embedding-3-small" checked>' in body


def test_a_wrong_key_shows_the_upstreams_error_without_the_key(
    staff_client: Client, upstream: Any
) -> None:
    body = staff_client.post(
        URL, {"base_url": upstream.v1, "key": WRONG_KEY}, headers=HTMX
    ).content.decode()

    assert '<p class="field-errors ch-fetch-error" role="alert">Incorrect API key provided' in body
    assert WRONG_KEY not in body
    assert "fetched_models" not in body


def test_on_the_edit_page_a_blank_key_means_the_stored_one(
    staff_client: Client, upstream: Any
) -> None:
    channel = make_channel(base_url=upstream.v1, key=upstream.api_key)
    body = staff_client.post(
        URL, {"channel": str(channel.pk), "base_url": "", "key": ""}, headers=HTMX
    ).content.decode()

    assert _offered(body, "text-embedding-3-small")
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {upstream.api_key}"
    assert upstream.api_key not in body


def test_a_typed_key_wins_over_the_stored_one(staff_client: Client, upstream: Any) -> None:
    channel = make_channel(base_url=upstream.v1, key=upstream.api_key)
    body = staff_client.post(
        URL, {"channel": str(channel.pk), "base_url": upstream.v1, "key": WRONG_KEY}, headers=HTMX
    ).content.decode()

    assert "Incorrect API key provided" in body
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {WRONG_KEY}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base_url": "", "key": "sk-x"}, "Enter the API address first."),
        ({"base_url": "file:///etc/passwd", "key": "sk-x"}, "Enter an http:// or https:// URL."),
        ({"base_url": "https://api.example.net/v1", "key": ""}, "Enter the API key first."),
    ],
)
def test_it_needs_an_address_and_a_key(
    staff_client: Client, data: dict[str, str], message: str
) -> None:
    body = staff_client.post(URL, data, headers=HTMX).content.decode()
    assert f'role="alert">{message}</p>' in body


def test_an_unreachable_upstream_says_so(staff_client: Client) -> None:
    body = staff_client.post(
        URL, {"base_url": closed_url() + "/v1", "key": "sk-x"}, headers=HTMX
    ).content.decode()
    assert "Could not reach the upstream" in body
