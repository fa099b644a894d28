"""A stored key is only ever sent to the address it was entered for (edit form, Fetch models).

The channel's canary key lives at one fake upstream; a second one plays the host an attacker
would name. Its request log must never show the canary unless the key was typed again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.channels_admin.conftest import snapshot
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db

CANARY = "sk-canary-key-must-stay-home-0123456789"
RETYPED = "sk-retyped-key-for-the-new-host-98765"
KEY_AGAIN = "The address or type changed: enter the API key again."
FETCH_REFUSED = "The address or type differs from the saved one: enter the API key"


@pytest.fixture
def home() -> Iterator[FakeUpstream]:
    with running_upstream(name="home", api_key=CANARY) as fake:
        yield fake


@pytest.fixture
def elsewhere() -> Iterator[FakeUpstream]:
    with running_upstream(name="elsewhere", api_key=RETYPED) as fake:
        yield fake


@pytest.fixture
def channel(make_channel: Callable[..., Channel], home: FakeUpstream) -> Channel:
    return make_channel(name="Canary", base_url=home.v1, key=CANARY, models=["gpt-4o-mini"])


def canary_seen(upstream: FakeUpstream) -> bool:
    return any(
        CANARY in value or CANARY.encode() in request.body
        for request in upstream.requests
        for value in [*request.headers.values(), request.path, request.query]
    )


def form_data(channel: Channel, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": channel.name,
        "type": channel.type,
        "base_url": channel.base_url,
        "key": "",
        "models": "\n".join(channel.model_names),
        "groups": ", ".join(channel.groups),
        "weight": str(channel.weight),
        "priority": str(channel.priority),
        "status": channel.status,
        "test_model": channel.test_model,
        "mapping_mode": "rows",
        "channel": str(channel.pk),
        "action": "save",
    }
    data.update(overrides)
    return data


# --- the edit form -----------------------------------------------------------------------


def test_a_new_address_without_the_key_is_refused_beside_the_key(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    before = snapshot(channel)
    response = admin_client.post(
        f"/channels/{channel.pk}/", form_data(channel, base_url=elsewhere.v1)
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert "Nothing was saved." in body
    assert f'id="id_key_errors"><li>{KEY_AGAIN}' in body
    # The page shows the address the admin typed, ready for the key.
    assert f'value="{elsewhere.v1}"' in body
    assert snapshot(channel) == before
    assert CANARY not in body


def test_the_test_button_then_still_calls_the_stored_address(
    admin_client: Client, channel: Channel, home: FakeUpstream, elsewhere: FakeUpstream
) -> None:
    admin_client.post(f"/channels/{channel.pk}/", form_data(channel, base_url=elsewhere.v1))
    admin_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)

    assert elsewhere.requests == []
    assert [r.path for r in home.requests] == ["/v1/chat/completions"]


def test_a_new_address_with_the_key_typed_again_is_saved(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    response = admin_client.post(
        f"/channels/{channel.pk}/", form_data(channel, base_url=elsewhere.v1, key=RETYPED)
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.base_url, channel.api_key) == (elsewhere.v1, RETYPED)

    admin_client.post(f"/channels/{channel.pk}/test/", headers=HTMX)
    [request] = elsewhere.requests
    assert request.headers["authorization"] == f"Bearer {RETYPED}"
    assert not canary_seen(elsewhere)


def test_the_same_address_written_differently_keeps_the_key(
    admin_client: Client, channel: Channel
) -> None:
    response = admin_client.post(
        f"/channels/{channel.pk}/",
        form_data(channel, base_url=f" {channel.base_url}/ ", name="Renamed"),
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.api_key) == ("Renamed", CANARY)


def test_a_changed_type_needs_the_key_again(admin_client: Client, channel: Channel) -> None:
    # Only one type exists today; a channel stored with another stands in for a type change.
    Channel.objects.filter(pk=channel.pk).update(type="legacy")
    channel.refresh_from_db()
    before = snapshot(channel)
    body = admin_client.post(
        f"/channels/{channel.pk}/", form_data(channel, type="openai")
    ).content.decode()

    assert f'id="id_key_errors"><li>{KEY_AGAIN}' in body
    assert snapshot(channel) == before


# --- Fetch models ------------------------------------------------------------------------


def test_fetch_models_refuses_the_stored_key_for_a_new_address(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    body = admin_client.post(
        "/channels/fetch-models/",
        {"channel": str(channel.pk), "base_url": elsewhere.v1, "key": "", "type": "openai"},
        headers=HTMX,
    ).content.decode()

    assert FETCH_REFUSED in body
    assert "fetched_models" not in body
    assert elsewhere.requests == []


def test_fetch_models_without_javascript_refuses_it_too(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    body = admin_client.post(
        f"/channels/{channel.pk}/",
        form_data(channel, action="fetch-models", base_url=elsewhere.v1),
    ).content.decode()

    assert FETCH_REFUSED in body
    assert elsewhere.requests == []
    assert Channel.objects.get(pk=channel.pk).base_url == channel.base_url


def test_fetch_models_refuses_a_changed_type(admin_client: Client, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(type="legacy")
    body = admin_client.post(
        "/channels/fetch-models/",
        {"channel": str(channel.pk), "base_url": "", "key": "", "type": "openai"},
        headers=HTMX,
    ).content.decode()
    assert FETCH_REFUSED in body


def test_fetch_models_sends_a_typed_key_to_the_new_address(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    body = admin_client.post(
        "/channels/fetch-models/",
        {"channel": str(channel.pk), "base_url": elsewhere.v1, "key": RETYPED},
        headers=HTMX,
    ).content.decode()

    assert 'value="gpt-4o-mini"' in body
    [request] = elsewhere.requests
    assert request.headers["authorization"] == f"Bearer {RETYPED}"
    assert not canary_seen(elsewhere)


def test_fetch_models_still_uses_the_stored_key_at_the_stored_address(
    admin_client: Client, channel: Channel, home: FakeUpstream
) -> None:
    body = admin_client.post(
        "/channels/fetch-models/",
        {"channel": str(channel.pk), "base_url": home.v1 + "/", "key": ""},
        headers=HTMX,
    ).content.decode()

    assert 'value="gpt-4o-mini"' in body
    assert home.requests[-1].headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in body


def test_the_refusal_speaks_simplified_chinese(
    admin_client: Client, channel: Channel, elsewhere: FakeUpstream
) -> None:
    body = admin_client.post(
        f"/channels/{channel.pk}/",
        form_data(channel, base_url=elsewhere.v1),
        headers={"Accept-Language": "zh-hans"},
    ).content.decode()
    assert "请重新输入 API 密钥" in body


@pytest.mark.parametrize("channel_id", ["²", "9" * 40, "-1"])
def test_fetch_models_treats_an_odd_channel_id_as_none(
    admin_client: Client, channel_id: str
) -> None:
    response = admin_client.post(
        "/channels/fetch-models/",
        {"channel": channel_id, "base_url": "", "key": ""},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Enter the API address first." in response.content.decode()
