"""/api/groups: every known group with its price multiplier, and PUT to change one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.api import db_snapshot, error_of
from tests.support.audit import only_event
from tests.support.factories import make_channel, make_token
from usage.models import GroupMultiplier

pytestmark = pytest.mark.django_db


def put(api: Client, name: str, body: Any) -> Any:
    return api.put(f"/api/groups/{name}", data=body, content_type="application/json")


def test_it_needs_an_admin_key(db: None) -> None:
    assert Client().get("/api/groups").status_code == 401
    response = Client().put(
        "/api/groups/vip", data={"price_multiplier": "2"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert not GroupMultiplier.objects.exists()


def test_the_default_group_is_always_listed(api: Client) -> None:
    assert api.get("/api/groups").json() == {"data": [{"name": "default", "price_multiplier": "1"}]}


def test_it_lists_channel_token_and_priced_groups_once_each(api: Client) -> None:
    make_channel(groups=["vip", "default"])
    make_channel(name="off", groups=["Batch"], status="disabled")
    make_token(group="team-a")
    make_token(group="vip")
    GroupMultiplier.objects.create(name="legacy", price_multiplier=Decimal("0.5"))
    GroupMultiplier.objects.create(name="vip", price_multiplier=Decimal("1.25"))

    assert api.get("/api/groups").json() == {
        "data": [
            {"name": "Batch", "price_multiplier": "1"},
            {"name": "default", "price_multiplier": "1"},
            {"name": "legacy", "price_multiplier": "0.5"},
            {"name": "team-a", "price_multiplier": "1"},
            {"name": "vip", "price_multiplier": "1.25"},
        ]
    }


def test_a_put_sets_the_multiplier(api: Client) -> None:
    response = put(api, "vip", {"price_multiplier": "0.8"})
    assert response.status_code == 200
    assert response.json() == {"name": "vip", "price_multiplier": "0.8"}
    assert GroupMultiplier.objects.get(name="vip").price_multiplier == Decimal("0.8")
    assert {"name": "vip", "price_multiplier": "0.8"} in api.get("/api/groups").json()["data"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2, "2"), (1.5, "1.5"), ("0", "0"), ("0.000001", "0.000001"), (" 3.10 ", "3.1")],
)
def test_the_multiplier_may_be_a_string_or_a_number(api: Client, value: Any, shown: str) -> None:
    response = put(api, "vip", {"price_multiplier": value})
    assert response.status_code == 200
    assert response.json()["price_multiplier"] == shown


def test_a_second_put_changes_it_and_is_audited(api: Client) -> None:
    put(api, "vip", {"price_multiplier": "2"})
    event = only_event()
    assert (event.action, event.object_type, event.object_repr) == (
        "changed",
        "group_multiplier",
        "vip",
    )
    assert event.changes == {"price_multiplier": ["1", "2"]}
    AuditEvent.objects.all().delete()
    before = db_snapshot()["relay_version"] or 0

    put(api, "vip", {"price_multiplier": 0.5})

    assert db_snapshot()["relay_version"] > before
    assert only_event().changes == {"price_multiplier": ["2", "0.5"]}
    assert GroupMultiplier.objects.count() == 1


def test_a_put_tells_the_relay(api: Client) -> None:
    before = db_snapshot()["relay_version"] or 0
    put(api, "vip", {"price_multiplier": "3"})
    assert db_snapshot()["relay_version"] > before


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "price_multiplier", "required"),
        ({"price_multiplier": "-1"}, "price_multiplier", "negative"),
        ({"price_multiplier": "1.0000001"}, "price_multiplier", "6 decimal places"),
        ({"price_multiplier": True}, "price_multiplier", "number or a decimal string"),
        ({"price_multiplier": "abc"}, "price_multiplier", "number or a decimal string"),
        ({"price_multiplier": "Infinity"}, "price_multiplier", "number or a decimal string"),
        ({"price_multiplier": "1000000"}, "price_multiplier", "999999.999999"),
        ({"price_multiplier": "1", "name": "other"}, "name", "URL"),
        ({"price_multiplier": "1", "discount": "1"}, "discount", "Unknown field"),
    ],
)
def test_it_names_the_bad_field(api: Client, body: dict[str, Any], field: str, words: str) -> None:
    before = db_snapshot()
    response = put(api, "vip", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["param"] == field
    assert any(words in message for message in error["fields"][field]), error["fields"]
    assert not GroupMultiplier.objects.exists()
    assert db_snapshot() == before


def test_a_group_name_is_at_most_64_characters(api: Client) -> None:
    response = put(api, "g" * 65, {"price_multiplier": "2"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"name": ["At most 64 characters."]}


def test_it_allows_only_get_on_the_list_and_put_on_a_group(api: Client) -> None:
    assert api.post("/api/groups", data={}, content_type="application/json").status_code == 405
    assert api.get("/api/groups/vip").status_code == 405
    assert api.delete("/api/groups/vip").status_code == 405
