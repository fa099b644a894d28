"""A stored key is only ever sent to the address it was entered for (edit form, Fetch models).

The channel's canary key lives at one fake upstream; a second one plays the host an attacker
would name. Its request log must never show the canary unless the key was typed again.
"""

from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.channels import CANARY, RETYPED, canary_seen, edit_form, snapshot
from tests.support.fake_upstream import FakeUpstream
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db

KEY_AGAIN = "The address or type changed: enter the API key again."
FETCH_REFUSED = "The address or type differs from the saved one: enter the API key"


# --- the edit form -----------------------------------------------------------------------


def test_a_new_address_without_the_key_is_refused_beside_the_key(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    before = snapshot(canary)
    response = staff_client.post(
        f"/channels/{canary.pk}/", edit_form(canary, base_url=elsewhere.v1)
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert "Nothing was saved." in body
    assert f'id="id_add_keys_errors"><li>{KEY_AGAIN}' in body
    # The page shows the address the admin typed, ready for the key.
    assert f'value="{elsewhere.v1}"' in body
    assert snapshot(canary) == before
    assert CANARY not in body


def test_the_test_button_then_still_calls_the_stored_address(
    staff_client: Client, canary: Channel, home: FakeUpstream, elsewhere: FakeUpstream
) -> None:
    staff_client.post(f"/channels/{canary.pk}/", edit_form(canary, base_url=elsewhere.v1))
    staff_client.post(f"/channels/{canary.pk}/test/", headers=HTMX)

    assert elsewhere.requests == []
    assert [r.path for r in home.requests] == ["/v1/chat/completions"]


def test_a_new_address_with_the_key_typed_again_is_saved(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    response = staff_client.post(
        f"/channels/{canary.pk}/", edit_form(canary, base_url=elsewhere.v1, add_keys=RETYPED)
    )
    assert response.status_code == 302
    canary.refresh_from_db()
    assert (canary.base_url, canary.api_key) == (elsewhere.v1, RETYPED)

    staff_client.post(f"/channels/{canary.pk}/test/", headers=HTMX)
    [request] = elsewhere.requests
    assert request.headers["authorization"] == f"Bearer {RETYPED}"
    assert not canary_seen(elsewhere)


def test_the_same_address_written_differently_keeps_the_key(
    staff_client: Client, canary: Channel
) -> None:
    response = staff_client.post(
        f"/channels/{canary.pk}/",
        edit_form(canary, base_url=f" {canary.base_url}/ ", name="Renamed"),
    )
    assert response.status_code == 302
    canary.refresh_from_db()
    assert (canary.name, canary.api_key) == ("Renamed", CANARY)


def test_a_changed_type_needs_the_key_again(staff_client: Client, canary: Channel) -> None:
    before = snapshot(canary)
    body = staff_client.post(
        f"/channels/{canary.pk}/",
        edit_form(canary, type="anthropic", base_url=canary.base_url.removesuffix("/v1")),
    ).content.decode()

    assert f'id="id_add_keys_errors"><li>{KEY_AGAIN}' in body
    assert snapshot(canary) == before


# --- Fetch models ------------------------------------------------------------------------


def test_fetch_models_refuses_the_stored_key_for_a_new_address(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"channel": str(canary.pk), "base_url": elsewhere.v1, "key": "", "type": "openai"},
        headers=HTMX,
    ).content.decode()

    assert FETCH_REFUSED in body
    assert "fetched_models" not in body
    assert elsewhere.requests == []


def test_fetch_models_without_javascript_refuses_it_too(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    body = staff_client.post(
        f"/channels/{canary.pk}/",
        edit_form(canary, action="fetch-models", base_url=elsewhere.v1),
    ).content.decode()

    assert FETCH_REFUSED in body
    assert elsewhere.requests == []
    assert Channel.objects.get(pk=canary.pk).base_url == canary.base_url


def test_fetch_models_refuses_a_changed_type(staff_client: Client, canary: Channel) -> None:
    Channel.objects.filter(pk=canary.pk).update(type="legacy")
    body = staff_client.post(
        "/channels/fetch-models/",
        {"channel": str(canary.pk), "base_url": "", "key": "", "type": "openai"},
        headers=HTMX,
    ).content.decode()
    assert FETCH_REFUSED in body


def test_fetch_models_sends_a_typed_key_to_the_new_address(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"channel": str(canary.pk), "base_url": elsewhere.v1, "key": RETYPED},
        headers=HTMX,
    ).content.decode()

    assert 'value="gpt-4o-mini"' in body
    [request] = elsewhere.requests
    assert request.headers["authorization"] == f"Bearer {RETYPED}"
    assert not canary_seen(elsewhere)


def test_fetch_models_still_uses_the_stored_key_at_the_stored_address(
    staff_client: Client, canary: Channel, home: FakeUpstream
) -> None:
    body = staff_client.post(
        "/channels/fetch-models/",
        {"channel": str(canary.pk), "base_url": home.v1 + "/", "key": ""},
        headers=HTMX,
    ).content.decode()

    assert 'value="gpt-4o-mini"' in body
    assert home.requests[-1].headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in body


def test_the_refusal_speaks_simplified_chinese(
    staff_client: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    body = staff_client.post(
        f"/channels/{canary.pk}/",
        edit_form(canary, base_url=elsewhere.v1),
        headers={"Accept-Language": "zh-hans"},
    ).content.decode()
    assert "请重新输入 API 密钥" in body


@pytest.mark.parametrize("channel_id", ["²", "9" * 40, "-1"])
def test_fetch_models_treats_an_odd_channel_id_as_none(
    staff_client: Client, channel_id: str
) -> None:
    response = staff_client.post(
        "/channels/fetch-models/",
        {"channel": channel_id, "base_url": "", "key": ""},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Enter the API address first." in response.content.decode()
