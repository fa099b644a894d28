"""/api/prices: list, read, set (PUT) and delete model prices; money as decimal strings."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.api import db_snapshot, error_of
from tests.support.audit import only_event
from tokens.models import AdminKey
from usage.models import ModelPrice

pytestmark = pytest.mark.django_db

PRICE = {"input_per_million": "2.5", "output_per_million": "10", "per_request": "0.001"}


def put(api: Client, model: str, body: Any) -> Any:
    return api.put(f"/api/prices/{model}", data=body, content_type="application/json")


def make_price(model: str = "gpt-4o", **amounts: int) -> ModelPrice:
    return ModelPrice.objects.create(model=model, **amounts)


# --- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/prices"),
        ("get", "/api/prices/gpt-4o"),
        ("put", "/api/prices/gpt-4o"),
        ("delete", "/api/prices/gpt-4o"),
    ],
)
def test_it_needs_an_admin_key(db: None, method: str, path: str) -> None:
    make_price()
    response = getattr(Client(), method)(path, data=PRICE, content_type="application/json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "missing_api_key"
    assert ModelPrice.objects.get().input_per_million == 0


def test_it_refuses_other_methods(api: Client) -> None:
    response = api.post("/api/prices", data=PRICE, content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert api.patch("/api/prices/gpt-4o").status_code == 405


# --- the list --------------------------------------------------------------------------


def test_the_list_is_empty_at_first(api: Client) -> None:
    assert api.get("/api/prices").json() == {"data": []}


def test_the_list_shows_every_price_by_model_name_with_money_as_strings(api: Client) -> None:
    make_price("gpt-4o", input_per_million=2_500_000_000, output_per_million=10 * 10**9)
    make_price("claude/sonnet", per_request=15)
    assert api.get("/api/prices").json() == {
        "data": [
            {
                "model": "claude/sonnet",
                "input_per_million": "0",
                "output_per_million": "0",
                "per_request": "0.000000015",
            },
            {
                "model": "gpt-4o",
                "input_per_million": "2.5",
                "output_per_million": "10",
                "per_request": "0",
            },
        ]
    }


def test_the_list_refuses_unknown_query_parameters(api: Client) -> None:
    response = api.get("/api/prices?model=gpt-4o")
    assert response.status_code == 400
    assert error_of(response)["param"] == "model"


# --- PUT -------------------------------------------------------------------------------


def test_a_put_creates_a_price_and_returns_it(api: Client) -> None:
    response = put(api, "gpt-4o", PRICE)
    assert response.status_code == 200
    assert response.json() == {"model": "gpt-4o", **PRICE}
    price = ModelPrice.objects.get()
    assert (price.input_per_million, price.output_per_million, price.per_request) == (
        2_500_000_000,
        10_000_000_000,
        1_000_000,
    )


def test_a_put_takes_a_model_name_with_slashes(api: Client) -> None:
    response = put(api, "org/model-x", PRICE)
    assert response.status_code == 200
    assert response.json()["model"] == "org/model-x"
    assert ModelPrice.objects.get().model == "org/model-x"
    assert api.get("/api/prices/org/model-x").json() == {"model": "org/model-x", **PRICE}


def test_a_percent_encoded_slash_is_the_same_name(api: Client) -> None:
    put(api, "org%2Fmodel-x", PRICE)
    assert ModelPrice.objects.get().model == "org/model-x"


def test_money_may_be_numbers(api: Client) -> None:
    response = put(
        api, "gpt-4o", {"input_per_million": 2.5, "output_per_million": 10, "per_request": 0}
    )
    assert response.status_code == 200
    assert response.json() == {
        "model": "gpt-4o",
        "input_per_million": "2.5",
        "output_per_million": "10",
        "per_request": "0",
    }


def test_a_put_replaces_the_whole_price_and_missing_amounts_are_zero(api: Client) -> None:
    put(api, "gpt-4o", PRICE)
    response = put(api, "gpt-4o", {"output_per_million": "12"})
    assert response.json() == {
        "model": "gpt-4o",
        "input_per_million": "0",
        "output_per_million": "12",
        "per_request": "0",
    }
    assert ModelPrice.objects.count() == 1


def test_an_all_zero_price_is_a_price(api: Client) -> None:
    response = put(api, "free-model", {})
    assert response.status_code == 200
    assert response.json()["per_request"] == "0"
    assert ModelPrice.objects.filter(model="free-model").exists()


def test_the_body_may_repeat_the_model_of_the_url(api: Client) -> None:
    assert put(api, "org/m", {"model": "org/m", **PRICE}).status_code == 200


def test_the_body_may_not_name_another_model(api: Client) -> None:
    response = put(api, "gpt-4o", {"model": "gpt-4o-mini", **PRICE})
    assert response.status_code == 400
    assert error_of(response)["param"] == "model"
    assert not ModelPrice.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"input_per_million": "-1"}, "input_per_million", "negative"),
        ({"output_per_million": -0.5}, "output_per_million", "negative"),
        ({"per_request": "0.0000000001"}, "per_request", "9 decimal places"),
        ({"input_per_million": True}, "input_per_million", "number or a decimal string"),
        ({"input_per_million": "abc"}, "input_per_million", "not an amount"),
        ({"input_per_million": None}, "input_per_million", "number or a decimal string"),
        ({"input_per_million": ["1"]}, "input_per_million", "number or a decimal string"),
        ({"input_per_million": "NaN"}, "input_per_million", "not an amount"),
        ({"input_per_million": "1e30"}, "input_per_million", "more than"),
        ({"price": "1"}, "price", "Unknown field"),
    ],
)
def test_it_names_the_bad_field(api: Client, body: dict[str, Any], field: str, words: str) -> None:
    before = db_snapshot()
    response = put(api, "gpt-4o", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == field
    assert list(error["fields"]) == [field]
    assert any(words in message for message in error["fields"][field]), error["fields"]
    assert not ModelPrice.objects.exists()
    assert db_snapshot() == before


@pytest.mark.parametrize("body", ["[]", "not json", '"2.5"'])
def test_it_refuses_a_body_that_is_no_json_object(api: Client, body: str) -> None:
    response = api.put("/api/prices/gpt-4o", data=body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_a_model_name_is_at_most_256_characters(api: Client) -> None:
    response = put(api, "m" * 257, PRICE)
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"model": ["At most 256 characters."]}
    assert put(api, "m" * 256, PRICE).status_code == 200


def test_a_put_tells_the_relay_and_is_audited_as_the_admin_key(api: Client) -> None:
    before = db_snapshot()["relay_version"] or 0
    put(api, "org/model-x", PRICE)
    assert db_snapshot()["relay_version"] > before
    event = only_event()
    admin_key = AdminKey.objects.get()
    assert (event.actor_kind, event.actor) == ("admin_key", f"tests ({admin_key.display_prefix})")
    assert (event.action, event.object_type, event.object_repr) == (
        "created",
        "price",
        "org/model-x",
    )
    assert event.changes["input_per_million"] == [None, "2.5"]


def test_a_change_is_audited_with_old_and_new_amounts(api: Client) -> None:
    put(api, "gpt-4o", PRICE)
    AuditEvent.objects.all().delete()
    put(api, "gpt-4o", {**PRICE, "output_per_million": "12"})
    event = only_event()
    assert event.action == "changed"
    assert event.changes == {"output_per_million": ["10", "12"]}


def test_the_same_price_again_changes_nothing(api: Client) -> None:
    put(api, "gpt-4o", PRICE)
    AuditEvent.objects.all().delete()
    before = db_snapshot()["relay_version"]
    assert (
        put(
            api,
            "gpt-4o",
            {"input_per_million": 2.5, "output_per_million": "10.000", "per_request": "0.001"},
        ).status_code
        == 200
    )
    assert not AuditEvent.objects.exists()
    assert db_snapshot()["relay_version"] == before


# --- GET one, DELETE -------------------------------------------------------------------


def test_a_missing_price_is_a_404_in_openai_shape(api: Client) -> None:
    for method in ("get", "delete"):
        response = getattr(api, method)("/api/prices/org/nothing")
        assert response.status_code == 404
        error = error_of(response)
        assert error["code"] == "not_found"
        assert error["type"] == "invalid_request_error"


def test_a_delete_removes_the_price_of_a_model_with_slashes(api: Client) -> None:
    make_price("org/model-x", input_per_million=5)
    make_price("org/model-y")
    before = db_snapshot()["relay_version"] or 0
    response = api.delete("/api/prices/org/model-x")
    assert response.status_code == 204
    assert not response.content
    assert list(ModelPrice.objects.values_list("model", flat=True)) == ["org/model-y"]
    assert db_snapshot()["relay_version"] > before
    event = only_event()
    assert (event.action, event.object_type, event.object_repr) == (
        "deleted",
        "price",
        "org/model-x",
    )
    assert event.changes["input_per_million"] == ["0.000000005", None]
