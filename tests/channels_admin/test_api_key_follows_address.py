"""PATCH /api/channels/<id>: a new address or type needs the key again, or the key stays home."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.api import db_snapshot, error_of
from tests.support.channels import CANARY, RETYPED, canary_seen
from tests.support.fake_upstream import FakeUpstream

pytestmark = pytest.mark.django_db


def patch(api: Client, channel: Channel, body: dict[str, Any]) -> Any:
    return api.patch(f"/api/channels/{channel.pk}", body, content_type="application/json")


@pytest.mark.parametrize("key", [None, "", "absent"])
def test_a_new_base_url_without_a_key_is_refused(
    api: Client, canary: Channel, elsewhere: FakeUpstream, key: str | None
) -> None:
    before = db_snapshot()
    body: dict[str, Any] = {"base_url": elsewhere.v1}
    if key != "absent":
        body["key"] = key
    response = patch(api, canary, body)

    assert response.status_code == 400
    error = error_of(response)
    assert list(error["fields"]) == ["key"]
    assert "enter the API key again" in error["fields"]["key"][0]
    assert db_snapshot() == before


def test_testing_after_the_refused_change_still_calls_home(
    api: Client, canary: Channel, home: FakeUpstream, elsewhere: FakeUpstream
) -> None:
    patch(api, canary, {"base_url": elsewhere.v1})
    response = api.post(f"/api/channels/{canary.pk}/test")

    assert response.json()["ok"] is True
    assert elsewhere.requests == []
    assert [r.path for r in home.requests] == ["/v1/chat/completions"]


def test_a_new_base_url_with_the_key_is_accepted_and_the_canary_never_leaves(
    api: Client, canary: Channel, elsewhere: FakeUpstream
) -> None:
    response = patch(api, canary, {"base_url": elsewhere.v1, "key": RETYPED})
    assert response.status_code == 200
    assert response.json()["base_url"] == elsewhere.v1

    assert api.post(f"/api/channels/{canary.pk}/test").json()["ok"] is True
    [request] = elsewhere.requests
    assert request.headers["authorization"] == f"Bearer {RETYPED}"
    assert not canary_seen(elsewhere)


def test_a_changed_type_without_a_key_is_refused(api: Client, canary: Channel) -> None:
    # Only one type exists today; a channel stored with another stands in for a type change.
    Channel.objects.filter(pk=canary.pk).update(type="legacy")
    response = patch(api, canary, {"type": "openai"})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["key"]


def test_other_changes_keep_the_stored_key(api: Client, canary: Channel) -> None:
    response = patch(api, canary, {"name": "Renamed", "base_url": canary.base_url + "/"})
    assert response.status_code == 200
    canary.refresh_from_db()
    assert (canary.name, canary.api_key) == ("Renamed", CANARY)
